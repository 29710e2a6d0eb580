; agentgym sample: hand-written ALFRED PDDL problem for ALFWorld's engine (docs/alfred_pddl.md)
; task_type: pick_two_obj_and_place
; task: put two cellphone in sofa
; expert: go to coffeetable 1 | take cellphone 2 from coffeetable 1 | go to sofa 1 | move cellphone 2 to sofa 1 | go to drawer 1 | open drawer 1 | take cellphone 1 from drawer 1 | go to sofa 1 | move cellphone 1 to sofa 1
(define (problem plan_agentgym_pick_two_obj_and_place)
(:domain alfred)
(:objects
        agent1 - agent
        CellPhoneType - otype
        CreditCardType - otype
        FloorLampType - otype
        KeyChainType - otype
        PillowType - otype
        RemoteControlType - otype
        ArmChairType - rtype
        CoffeeTableType - rtype
        DrawerType - rtype
        GarbageCanType - rtype
        SofaType - rtype
        TVStandType - rtype
        CellPhone_bar__plus_01_dot_85_bar__plus_00_dot_55_bar__minus_01_dot_35 - object
        CellPhone_bar__minus_00_dot_55_bar__plus_00_dot_45_bar__plus_01_dot_05 - object
        CreditCard_bar__minus_00_dot_30_bar__plus_00_dot_45_bar__plus_01_dot_20 - object
        FloorLamp_bar__minus_02_dot_60_bar__plus_00_dot_00_bar__plus_02_dot_30 - object
        KeyChain_bar__plus_01_dot_95_bar__plus_00_dot_25_bar__minus_01_dot_45 - object
        Pillow_bar__minus_02_dot_10_bar__plus_00_dot_50_bar__plus_01_dot_10 - object
        RemoteControl_bar__plus_01_dot_75_bar__plus_00_dot_40_bar__plus_01_dot_55 - object
        ArmChair_bar__plus_01_dot_80_bar__plus_00_dot_00_bar__plus_01_dot_50 - receptacle
        CoffeeTable_bar__minus_00_dot_40_bar__plus_00_dot_00_bar__plus_01_dot_10 - receptacle
        Drawer_bar__plus_01_dot_90_bar__plus_00_dot_20_bar__minus_01_dot_40 - receptacle
        Drawer_bar__plus_01_dot_90_bar__plus_00_dot_50_bar__minus_01_dot_40 - receptacle
        GarbageCan_bar__plus_02_dot_10_bar__plus_00_dot_00_bar__plus_02_dot_40 - receptacle
        Sofa_bar__minus_02_dot_00_bar__plus_00_dot_00_bar__plus_01_dot_20 - receptacle
        TVStand_bar__plus_00_dot_20_bar__plus_00_dot_00_bar__minus_02_dot_40 - receptacle
        loc_bar__minus_2_bar_3_bar_0_bar_60 - location
        loc_bar__minus_7_bar_4_bar_3_bar_45 - location
        loc_bar__minus_8_bar_7_bar_3_bar_45 - location
        loc_bar_0_bar_0_bar_3_bar_30 - location
        loc_bar_1_bar__minus_8_bar_2_bar_45 - location
        loc_bar_6_bar__minus_4_bar_1_bar_45 - location
        loc_bar_6_bar_5_bar_1_bar_45 - location
        loc_bar_7_bar_8_bar_1_bar_60 - location
        )
(:init
        (receptacleType ArmChair_bar__plus_01_dot_80_bar__plus_00_dot_00_bar__plus_01_dot_50 ArmChairType)
        (receptacleType CoffeeTable_bar__minus_00_dot_40_bar__plus_00_dot_00_bar__plus_01_dot_10 CoffeeTableType)
        (receptacleType Drawer_bar__plus_01_dot_90_bar__plus_00_dot_20_bar__minus_01_dot_40 DrawerType)
        (receptacleType Drawer_bar__plus_01_dot_90_bar__plus_00_dot_50_bar__minus_01_dot_40 DrawerType)
        (receptacleType GarbageCan_bar__plus_02_dot_10_bar__plus_00_dot_00_bar__plus_02_dot_40 GarbageCanType)
        (receptacleType Sofa_bar__minus_02_dot_00_bar__plus_00_dot_00_bar__plus_01_dot_20 SofaType)
        (receptacleType TVStand_bar__plus_00_dot_20_bar__plus_00_dot_00_bar__minus_02_dot_40 TVStandType)
        (objectType CellPhone_bar__plus_01_dot_85_bar__plus_00_dot_55_bar__minus_01_dot_35 CellPhoneType)
        (objectType CellPhone_bar__minus_00_dot_55_bar__plus_00_dot_45_bar__plus_01_dot_05 CellPhoneType)
        (objectType CreditCard_bar__minus_00_dot_30_bar__plus_00_dot_45_bar__plus_01_dot_20 CreditCardType)
        (objectType FloorLamp_bar__minus_02_dot_60_bar__plus_00_dot_00_bar__plus_02_dot_30 FloorLampType)
        (objectType KeyChain_bar__plus_01_dot_95_bar__plus_00_dot_25_bar__minus_01_dot_45 KeyChainType)
        (objectType Pillow_bar__minus_02_dot_10_bar__plus_00_dot_50_bar__plus_01_dot_10 PillowType)
        (objectType RemoteControl_bar__plus_01_dot_75_bar__plus_00_dot_40_bar__plus_01_dot_55 RemoteControlType)
        (canContain ArmChairType CellPhoneType)
        (canContain ArmChairType CreditCardType)
        (canContain ArmChairType KeyChainType)
        (canContain ArmChairType PillowType)
        (canContain ArmChairType RemoteControlType)
        (canContain CoffeeTableType CellPhoneType)
        (canContain CoffeeTableType CreditCardType)
        (canContain CoffeeTableType KeyChainType)
        (canContain CoffeeTableType RemoteControlType)
        (canContain DrawerType CellPhoneType)
        (canContain DrawerType CreditCardType)
        (canContain DrawerType KeyChainType)
        (canContain DrawerType RemoteControlType)
        (canContain SofaType CellPhoneType)
        (canContain SofaType CreditCardType)
        (canContain SofaType KeyChainType)
        (canContain SofaType PillowType)
        (canContain SofaType RemoteControlType)
        (pickupable CellPhone_bar__plus_01_dot_85_bar__plus_00_dot_55_bar__minus_01_dot_35)
        (pickupable CellPhone_bar__minus_00_dot_55_bar__plus_00_dot_45_bar__plus_01_dot_05)
        (pickupable CreditCard_bar__minus_00_dot_30_bar__plus_00_dot_45_bar__plus_01_dot_20)
        (pickupable KeyChain_bar__plus_01_dot_95_bar__plus_00_dot_25_bar__minus_01_dot_45)
        (pickupable Pillow_bar__minus_02_dot_10_bar__plus_00_dot_50_bar__plus_01_dot_10)
        (pickupable RemoteControl_bar__plus_01_dot_75_bar__plus_00_dot_40_bar__plus_01_dot_55)
        (openable Drawer_bar__plus_01_dot_90_bar__plus_00_dot_20_bar__minus_01_dot_40)
        (openable Drawer_bar__plus_01_dot_90_bar__plus_00_dot_50_bar__minus_01_dot_40)
        (atLocation agent1 loc_bar_0_bar_0_bar_3_bar_30)
        (inReceptacle CellPhone_bar__plus_01_dot_85_bar__plus_00_dot_55_bar__minus_01_dot_35 Drawer_bar__plus_01_dot_90_bar__plus_00_dot_50_bar__minus_01_dot_40)
        (inReceptacle CellPhone_bar__minus_00_dot_55_bar__plus_00_dot_45_bar__plus_01_dot_05 CoffeeTable_bar__minus_00_dot_40_bar__plus_00_dot_00_bar__plus_01_dot_10)
        (inReceptacle CreditCard_bar__minus_00_dot_30_bar__plus_00_dot_45_bar__plus_01_dot_20 CoffeeTable_bar__minus_00_dot_40_bar__plus_00_dot_00_bar__plus_01_dot_10)
        (inReceptacle KeyChain_bar__plus_01_dot_95_bar__plus_00_dot_25_bar__minus_01_dot_45 Drawer_bar__plus_01_dot_90_bar__plus_00_dot_20_bar__minus_01_dot_40)
        (inReceptacle Pillow_bar__minus_02_dot_10_bar__plus_00_dot_50_bar__plus_01_dot_10 Sofa_bar__minus_02_dot_00_bar__plus_00_dot_00_bar__plus_01_dot_20)
        (inReceptacle RemoteControl_bar__plus_01_dot_75_bar__plus_00_dot_40_bar__plus_01_dot_55 ArmChair_bar__plus_01_dot_80_bar__plus_00_dot_00_bar__plus_01_dot_50)
        (receptacleAtLocation ArmChair_bar__plus_01_dot_80_bar__plus_00_dot_00_bar__plus_01_dot_50 loc_bar_6_bar_5_bar_1_bar_45)
        (receptacleAtLocation CoffeeTable_bar__minus_00_dot_40_bar__plus_00_dot_00_bar__plus_01_dot_10 loc_bar__minus_2_bar_3_bar_0_bar_60)
        (receptacleAtLocation Drawer_bar__plus_01_dot_90_bar__plus_00_dot_20_bar__minus_01_dot_40 loc_bar_6_bar__minus_4_bar_1_bar_45)
        (receptacleAtLocation Drawer_bar__plus_01_dot_90_bar__plus_00_dot_50_bar__minus_01_dot_40 loc_bar_6_bar__minus_4_bar_1_bar_45)
        (receptacleAtLocation GarbageCan_bar__plus_02_dot_10_bar__plus_00_dot_00_bar__plus_02_dot_40 loc_bar_7_bar_8_bar_1_bar_60)
        (receptacleAtLocation Sofa_bar__minus_02_dot_00_bar__plus_00_dot_00_bar__plus_01_dot_20 loc_bar__minus_7_bar_4_bar_3_bar_45)
        (receptacleAtLocation TVStand_bar__plus_00_dot_20_bar__plus_00_dot_00_bar__minus_02_dot_40 loc_bar_1_bar__minus_8_bar_2_bar_45)
        (objectAtLocation CellPhone_bar__plus_01_dot_85_bar__plus_00_dot_55_bar__minus_01_dot_35 loc_bar_6_bar__minus_4_bar_1_bar_45)
        (objectAtLocation CellPhone_bar__minus_00_dot_55_bar__plus_00_dot_45_bar__plus_01_dot_05 loc_bar__minus_2_bar_3_bar_0_bar_60)
        (objectAtLocation CreditCard_bar__minus_00_dot_30_bar__plus_00_dot_45_bar__plus_01_dot_20 loc_bar__minus_2_bar_3_bar_0_bar_60)
        (objectAtLocation KeyChain_bar__plus_01_dot_95_bar__plus_00_dot_25_bar__minus_01_dot_45 loc_bar_6_bar__minus_4_bar_1_bar_45)
        (objectAtLocation Pillow_bar__minus_02_dot_10_bar__plus_00_dot_50_bar__plus_01_dot_10 loc_bar__minus_7_bar_4_bar_3_bar_45)
        (objectAtLocation RemoteControl_bar__plus_01_dot_75_bar__plus_00_dot_40_bar__plus_01_dot_55 loc_bar_6_bar_5_bar_1_bar_45)
        (objectAtLocation FloorLamp_bar__minus_02_dot_60_bar__plus_00_dot_00_bar__plus_02_dot_30 loc_bar__minus_8_bar_7_bar_3_bar_45)
        )
    (:goal
        (and
            (exists (?r - receptacle)
                (exists (?o1 - object)
                    (and
                        (objectType ?o1 CellPhoneType)
                        (receptacleType ?r SofaType)
                        (inReceptacle ?o1 ?r)
                        (exists (?o2 - object)
                            (and
                                (not (= ?o1 ?o2))
                                (objectType ?o2 CellPhoneType)
                                (receptacleType ?r SofaType)
                                (inReceptacle ?o2 ?r)
                            )
                        )
                    )
                )
            )
        )
    )
)
