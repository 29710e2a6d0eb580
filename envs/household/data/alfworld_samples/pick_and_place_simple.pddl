; agentgym sample: hand-written ALFRED PDDL problem for ALFWorld's engine (docs/alfred_pddl.md)
; task_type: pick_and_place_simple
; task: put a spraybottle in toilet
; expert: go to cabinet 2 | open cabinet 2 | take spraybottle 2 from cabinet 2 | go to toilet 1 | move spraybottle 2 to toilet 1
(define (problem plan_agentgym_pick_and_place_simple)
(:domain alfred)
(:objects
        agent1 - agent
        LightSwitchType - otype
        SoapBarType - otype
        SprayBottleType - otype
        ToiletPaperType - otype
        CabinetType - rtype
        CounterTopType - rtype
        GarbageCanType - rtype
        SinkBasinType - rtype
        ToiletType - rtype
        LightSwitch_bar__plus_01_dot_10_bar__plus_01_dot_30_bar__minus_00_dot_20 - object
        SoapBar_bar__minus_00_dot_64_bar__plus_00_dot_71_bar__plus_00_dot_95 - object
        SprayBottle_bar__minus_00_dot_70_bar__plus_00_dot_39_bar__plus_00_dot_75 - object
        SprayBottle_bar__minus_00_dot_78_bar__plus_00_dot_72_bar__plus_01_dot_37 - object
        ToiletPaper_bar__minus_00_dot_37_bar__plus_00_dot_80_bar__minus_01_dot_62 - object
        Cabinet_bar__minus_00_dot_62_bar__plus_00_dot_32_bar__plus_00_dot_82 - receptacle
        Cabinet_bar__minus_00_dot_62_bar__plus_00_dot_32_bar__plus_01_dot_40 - receptacle
        CounterTop_bar__minus_00_dot_67_bar__plus_00_dot_70_bar__plus_01_dot_11 - receptacle
        GarbageCan_bar__minus_00_dot_95_bar__plus_00_dot_00_bar__minus_00_dot_69 - receptacle
        Sink_bar__minus_00_dot_70_bar__plus_00_dot_80_bar__plus_01_dot_15_bar_SinkBasin - receptacle
        Toilet_bar__minus_00_dot_54_bar__plus_00_dot_00_bar__minus_01_dot_60 - receptacle
        loc_bar__minus_1_bar_2_bar_3_bar_45 - location
        loc_bar__minus_1_bar_3_bar_3_bar_30 - location
        loc_bar__minus_1_bar_4_bar_3_bar_45 - location
        loc_bar__minus_1_bar_5_bar_3_bar_60 - location
        loc_bar__minus_2_bar__minus_5_bar_2_bar_60 - location
        loc_bar__minus_3_bar__minus_3_bar_3_bar_60 - location
        loc_bar_1_bar_0_bar_1_bar_30 - location
        loc_bar_3_bar__minus_1_bar_1_bar_0 - location
        )
(:init
        (receptacleType Cabinet_bar__minus_00_dot_62_bar__plus_00_dot_32_bar__plus_00_dot_82 CabinetType)
        (receptacleType Cabinet_bar__minus_00_dot_62_bar__plus_00_dot_32_bar__plus_01_dot_40 CabinetType)
        (receptacleType CounterTop_bar__minus_00_dot_67_bar__plus_00_dot_70_bar__plus_01_dot_11 CounterTopType)
        (receptacleType GarbageCan_bar__minus_00_dot_95_bar__plus_00_dot_00_bar__minus_00_dot_69 GarbageCanType)
        (receptacleType Sink_bar__minus_00_dot_70_bar__plus_00_dot_80_bar__plus_01_dot_15_bar_SinkBasin SinkBasinType)
        (receptacleType Toilet_bar__minus_00_dot_54_bar__plus_00_dot_00_bar__minus_01_dot_60 ToiletType)
        (objectType LightSwitch_bar__plus_01_dot_10_bar__plus_01_dot_30_bar__minus_00_dot_20 LightSwitchType)
        (objectType SoapBar_bar__minus_00_dot_64_bar__plus_00_dot_71_bar__plus_00_dot_95 SoapBarType)
        (objectType SprayBottle_bar__minus_00_dot_70_bar__plus_00_dot_39_bar__plus_00_dot_75 SprayBottleType)
        (objectType SprayBottle_bar__minus_00_dot_78_bar__plus_00_dot_72_bar__plus_01_dot_37 SprayBottleType)
        (objectType ToiletPaper_bar__minus_00_dot_37_bar__plus_00_dot_80_bar__minus_01_dot_62 ToiletPaperType)
        (canContain CabinetType SoapBarType)
        (canContain CabinetType SprayBottleType)
        (canContain CabinetType ToiletPaperType)
        (canContain CounterTopType SoapBarType)
        (canContain CounterTopType SprayBottleType)
        (canContain CounterTopType ToiletPaperType)
        (canContain GarbageCanType SoapBarType)
        (canContain GarbageCanType SprayBottleType)
        (canContain GarbageCanType ToiletPaperType)
        (canContain SinkBasinType SoapBarType)
        (canContain ToiletType SoapBarType)
        (canContain ToiletType SprayBottleType)
        (canContain ToiletType ToiletPaperType)
        (pickupable SoapBar_bar__minus_00_dot_64_bar__plus_00_dot_71_bar__plus_00_dot_95)
        (pickupable SprayBottle_bar__minus_00_dot_70_bar__plus_00_dot_39_bar__plus_00_dot_75)
        (pickupable SprayBottle_bar__minus_00_dot_78_bar__plus_00_dot_72_bar__plus_01_dot_37)
        (pickupable ToiletPaper_bar__minus_00_dot_37_bar__plus_00_dot_80_bar__minus_01_dot_62)
        (openable Cabinet_bar__minus_00_dot_62_bar__plus_00_dot_32_bar__plus_00_dot_82)
        (openable Cabinet_bar__minus_00_dot_62_bar__plus_00_dot_32_bar__plus_01_dot_40)
        (atLocation agent1 loc_bar_1_bar_0_bar_1_bar_30)
        (cleanable SoapBar_bar__minus_00_dot_64_bar__plus_00_dot_71_bar__plus_00_dot_95)
        (inReceptacle SoapBar_bar__minus_00_dot_64_bar__plus_00_dot_71_bar__plus_00_dot_95 CounterTop_bar__minus_00_dot_67_bar__plus_00_dot_70_bar__plus_01_dot_11)
        (inReceptacle SprayBottle_bar__minus_00_dot_70_bar__plus_00_dot_39_bar__plus_00_dot_75 Cabinet_bar__minus_00_dot_62_bar__plus_00_dot_32_bar__plus_00_dot_82)
        (inReceptacle SprayBottle_bar__minus_00_dot_78_bar__plus_00_dot_72_bar__plus_01_dot_37 CounterTop_bar__minus_00_dot_67_bar__plus_00_dot_70_bar__plus_01_dot_11)
        (inReceptacle ToiletPaper_bar__minus_00_dot_37_bar__plus_00_dot_80_bar__minus_01_dot_62 Toilet_bar__minus_00_dot_54_bar__plus_00_dot_00_bar__minus_01_dot_60)
        (receptacleAtLocation Cabinet_bar__minus_00_dot_62_bar__plus_00_dot_32_bar__plus_00_dot_82 loc_bar__minus_1_bar_2_bar_3_bar_45)
        (receptacleAtLocation Cabinet_bar__minus_00_dot_62_bar__plus_00_dot_32_bar__plus_01_dot_40 loc_bar__minus_1_bar_4_bar_3_bar_45)
        (receptacleAtLocation CounterTop_bar__minus_00_dot_67_bar__plus_00_dot_70_bar__plus_01_dot_11 loc_bar__minus_1_bar_3_bar_3_bar_30)
        (receptacleAtLocation GarbageCan_bar__minus_00_dot_95_bar__plus_00_dot_00_bar__minus_00_dot_69 loc_bar__minus_3_bar__minus_3_bar_3_bar_60)
        (receptacleAtLocation Sink_bar__minus_00_dot_70_bar__plus_00_dot_80_bar__plus_01_dot_15_bar_SinkBasin loc_bar__minus_1_bar_5_bar_3_bar_60)
        (receptacleAtLocation Toilet_bar__minus_00_dot_54_bar__plus_00_dot_00_bar__minus_01_dot_60 loc_bar__minus_2_bar__minus_5_bar_2_bar_60)
        (objectAtLocation SoapBar_bar__minus_00_dot_64_bar__plus_00_dot_71_bar__plus_00_dot_95 loc_bar__minus_1_bar_3_bar_3_bar_30)
        (objectAtLocation SprayBottle_bar__minus_00_dot_70_bar__plus_00_dot_39_bar__plus_00_dot_75 loc_bar__minus_1_bar_2_bar_3_bar_45)
        (objectAtLocation SprayBottle_bar__minus_00_dot_78_bar__plus_00_dot_72_bar__plus_01_dot_37 loc_bar__minus_1_bar_3_bar_3_bar_30)
        (objectAtLocation ToiletPaper_bar__minus_00_dot_37_bar__plus_00_dot_80_bar__minus_01_dot_62 loc_bar__minus_2_bar__minus_5_bar_2_bar_60)
        (objectAtLocation LightSwitch_bar__plus_01_dot_10_bar__plus_01_dot_30_bar__minus_00_dot_20 loc_bar_3_bar__minus_1_bar_1_bar_0)
        )
    (:goal
        (and
            (exists (?r - receptacle)
                (exists (?o - object)
                    (and
                        (inReceptacle ?o ?r)
                        (objectType ?o SprayBottleType)
                        (receptacleType ?r ToiletType)
                    )
                )
            )
        )
    )
)
