; agentgym sample: hand-written ALFRED PDDL problem for ALFWorld's engine (docs/alfred_pddl.md)
; task_type: pick_cool_then_place_in_recep
; task: put a cool tomato in microwave
; expert: go to countertop 1 | take tomato 1 from countertop 1 | go to fridge 1 | cool tomato 1 with fridge 1 | go to microwave 1 | open microwave 1 | move tomato 1 to microwave 1
(define (problem plan_agentgym_pick_cool_then_place_in_recep)
(:domain alfred)
(:objects
        agent1 - agent
        AppleType - otype
        BreadType - otype
        CupType - otype
        TomatoType - otype
        CabinetType - rtype
        CoffeeMachineType - rtype
        CounterTopType - rtype
        DiningTableType - rtype
        FridgeType - rtype
        GarbageCanType - rtype
        MicrowaveType - rtype
        SinkBasinType - rtype
        Apple_bar__minus_00_dot_47_bar__plus_01_dot_15_bar__plus_00_dot_48 - object
        Bread_bar__minus_01_dot_90_bar__plus_00_dot_80_bar__plus_01_dot_40 - object
        Cup_bar__plus_01_dot_70_bar__plus_00_dot_95_bar__minus_00_dot_80 - object
        Tomato_bar__plus_00_dot_90_bar__plus_01_dot_00_bar__minus_00_dot_85 - object
        Cabinet_bar__minus_01_dot_00_bar__plus_00_dot_50_bar__minus_02_dot_00 - receptacle
        CoffeeMachine_bar__plus_00_dot_50_bar__plus_00_dot_90_bar__minus_01_dot_60 - receptacle
        CounterTop_bar__plus_01_dot_00_bar__plus_00_dot_95_bar__minus_01_dot_00 - receptacle
        CounterTop_bar__minus_00_dot_08_bar__plus_01_dot_15_bar_00_dot_00 - receptacle
        DiningTable_bar__minus_02_dot_00_bar__plus_00_dot_75_bar__plus_01_dot_50 - receptacle
        Fridge_bar__minus_02_dot_10_bar__plus_00_dot_00_bar__plus_01_dot_07 - receptacle
        GarbageCan_bar__minus_01_dot_94_bar_00_dot_00_bar__plus_02_dot_03 - receptacle
        Microwave_bar__plus_01_dot_75_bar__plus_00_dot_90_bar__minus_00_dot_84 - receptacle
        Sink_bar__plus_01_dot_10_bar__plus_00_dot_91_bar__minus_01_dot_60_bar_SinkBasin - receptacle
        loc_bar__minus_1_bar_1_bar_1_bar_45 - location
        loc_bar__minus_4_bar__minus_6_bar_2_bar_45 - location
        loc_bar__minus_6_bar_4_bar_3_bar_45 - location
        loc_bar__minus_6_bar_5_bar_0_bar_45 - location
        loc_bar__minus_7_bar_7_bar_0_bar_60 - location
        loc_bar_0_bar_0_bar_0_bar_30 - location
        loc_bar_2_bar__minus_5_bar_2_bar_45 - location
        loc_bar_4_bar__minus_3_bar_1_bar_45 - location
        loc_bar_4_bar__minus_5_bar_2_bar_60 - location
        loc_bar_6_bar__minus_3_bar_1_bar_30 - location
        )
(:init
        (receptacleType Cabinet_bar__minus_01_dot_00_bar__plus_00_dot_50_bar__minus_02_dot_00 CabinetType)
        (receptacleType CoffeeMachine_bar__plus_00_dot_50_bar__plus_00_dot_90_bar__minus_01_dot_60 CoffeeMachineType)
        (receptacleType CounterTop_bar__plus_01_dot_00_bar__plus_00_dot_95_bar__minus_01_dot_00 CounterTopType)
        (receptacleType CounterTop_bar__minus_00_dot_08_bar__plus_01_dot_15_bar_00_dot_00 CounterTopType)
        (receptacleType DiningTable_bar__minus_02_dot_00_bar__plus_00_dot_75_bar__plus_01_dot_50 DiningTableType)
        (receptacleType Fridge_bar__minus_02_dot_10_bar__plus_00_dot_00_bar__plus_01_dot_07 FridgeType)
        (receptacleType GarbageCan_bar__minus_01_dot_94_bar_00_dot_00_bar__plus_02_dot_03 GarbageCanType)
        (receptacleType Microwave_bar__plus_01_dot_75_bar__plus_00_dot_90_bar__minus_00_dot_84 MicrowaveType)
        (receptacleType Sink_bar__plus_01_dot_10_bar__plus_00_dot_91_bar__minus_01_dot_60_bar_SinkBasin SinkBasinType)
        (objectType Apple_bar__minus_00_dot_47_bar__plus_01_dot_15_bar__plus_00_dot_48 AppleType)
        (objectType Bread_bar__minus_01_dot_90_bar__plus_00_dot_80_bar__plus_01_dot_40 BreadType)
        (objectType Cup_bar__plus_01_dot_70_bar__plus_00_dot_95_bar__minus_00_dot_80 CupType)
        (objectType Tomato_bar__plus_00_dot_90_bar__plus_01_dot_00_bar__minus_00_dot_85 TomatoType)
        (canContain CabinetType CupType)
        (canContain CounterTopType AppleType)
        (canContain CounterTopType BreadType)
        (canContain CounterTopType CupType)
        (canContain CounterTopType TomatoType)
        (canContain DiningTableType AppleType)
        (canContain DiningTableType BreadType)
        (canContain DiningTableType CupType)
        (canContain DiningTableType TomatoType)
        (canContain FridgeType AppleType)
        (canContain FridgeType BreadType)
        (canContain FridgeType CupType)
        (canContain FridgeType TomatoType)
        (canContain GarbageCanType AppleType)
        (canContain GarbageCanType BreadType)
        (canContain GarbageCanType TomatoType)
        (canContain MicrowaveType AppleType)
        (canContain MicrowaveType BreadType)
        (canContain MicrowaveType CupType)
        (canContain MicrowaveType TomatoType)
        (canContain SinkBasinType AppleType)
        (canContain SinkBasinType CupType)
        (canContain SinkBasinType TomatoType)
        (pickupable Apple_bar__minus_00_dot_47_bar__plus_01_dot_15_bar__plus_00_dot_48)
        (pickupable Bread_bar__minus_01_dot_90_bar__plus_00_dot_80_bar__plus_01_dot_40)
        (pickupable Cup_bar__plus_01_dot_70_bar__plus_00_dot_95_bar__minus_00_dot_80)
        (pickupable Tomato_bar__plus_00_dot_90_bar__plus_01_dot_00_bar__minus_00_dot_85)
        (isReceptacleObject Cup_bar__plus_01_dot_70_bar__plus_00_dot_95_bar__minus_00_dot_80)
        (openable Cabinet_bar__minus_01_dot_00_bar__plus_00_dot_50_bar__minus_02_dot_00)
        (openable Fridge_bar__minus_02_dot_10_bar__plus_00_dot_00_bar__plus_01_dot_07)
        (openable Microwave_bar__plus_01_dot_75_bar__plus_00_dot_90_bar__minus_00_dot_84)
        (atLocation agent1 loc_bar_0_bar_0_bar_0_bar_30)
        (cleanable Apple_bar__minus_00_dot_47_bar__plus_01_dot_15_bar__plus_00_dot_48)
        (cleanable Cup_bar__plus_01_dot_70_bar__plus_00_dot_95_bar__minus_00_dot_80)
        (cleanable Tomato_bar__plus_00_dot_90_bar__plus_01_dot_00_bar__minus_00_dot_85)
        (heatable Apple_bar__minus_00_dot_47_bar__plus_01_dot_15_bar__plus_00_dot_48)
        (heatable Bread_bar__minus_01_dot_90_bar__plus_00_dot_80_bar__plus_01_dot_40)
        (heatable Cup_bar__plus_01_dot_70_bar__plus_00_dot_95_bar__minus_00_dot_80)
        (heatable Tomato_bar__plus_00_dot_90_bar__plus_01_dot_00_bar__minus_00_dot_85)
        (coolable Apple_bar__minus_00_dot_47_bar__plus_01_dot_15_bar__plus_00_dot_48)
        (coolable Bread_bar__minus_01_dot_90_bar__plus_00_dot_80_bar__plus_01_dot_40)
        (coolable Cup_bar__plus_01_dot_70_bar__plus_00_dot_95_bar__minus_00_dot_80)
        (coolable Tomato_bar__plus_00_dot_90_bar__plus_01_dot_00_bar__minus_00_dot_85)
        (sliceable Apple_bar__minus_00_dot_47_bar__plus_01_dot_15_bar__plus_00_dot_48)
        (sliceable Bread_bar__minus_01_dot_90_bar__plus_00_dot_80_bar__plus_01_dot_40)
        (sliceable Tomato_bar__plus_00_dot_90_bar__plus_01_dot_00_bar__minus_00_dot_85)
        (inReceptacle Apple_bar__minus_00_dot_47_bar__plus_01_dot_15_bar__plus_00_dot_48 CounterTop_bar__minus_00_dot_08_bar__plus_01_dot_15_bar_00_dot_00)
        (inReceptacle Bread_bar__minus_01_dot_90_bar__plus_00_dot_80_bar__plus_01_dot_40 DiningTable_bar__minus_02_dot_00_bar__plus_00_dot_75_bar__plus_01_dot_50)
        (inReceptacle Cup_bar__plus_01_dot_70_bar__plus_00_dot_95_bar__minus_00_dot_80 Microwave_bar__plus_01_dot_75_bar__plus_00_dot_90_bar__minus_00_dot_84)
        (inReceptacle Tomato_bar__plus_00_dot_90_bar__plus_01_dot_00_bar__minus_00_dot_85 CounterTop_bar__plus_01_dot_00_bar__plus_00_dot_95_bar__minus_01_dot_00)
        (receptacleAtLocation Cabinet_bar__minus_01_dot_00_bar__plus_00_dot_50_bar__minus_02_dot_00 loc_bar__minus_4_bar__minus_6_bar_2_bar_45)
        (receptacleAtLocation CoffeeMachine_bar__plus_00_dot_50_bar__plus_00_dot_90_bar__minus_01_dot_60 loc_bar_2_bar__minus_5_bar_2_bar_45)
        (receptacleAtLocation CounterTop_bar__plus_01_dot_00_bar__plus_00_dot_95_bar__minus_01_dot_00 loc_bar_4_bar__minus_3_bar_1_bar_45)
        (receptacleAtLocation CounterTop_bar__minus_00_dot_08_bar__plus_01_dot_15_bar_00_dot_00 loc_bar__minus_1_bar_1_bar_1_bar_45)
        (receptacleAtLocation DiningTable_bar__minus_02_dot_00_bar__plus_00_dot_75_bar__plus_01_dot_50 loc_bar__minus_6_bar_5_bar_0_bar_45)
        (receptacleAtLocation Fridge_bar__minus_02_dot_10_bar__plus_00_dot_00_bar__plus_01_dot_07 loc_bar__minus_6_bar_4_bar_3_bar_45)
        (receptacleAtLocation GarbageCan_bar__minus_01_dot_94_bar_00_dot_00_bar__plus_02_dot_03 loc_bar__minus_7_bar_7_bar_0_bar_60)
        (receptacleAtLocation Microwave_bar__plus_01_dot_75_bar__plus_00_dot_90_bar__minus_00_dot_84 loc_bar_6_bar__minus_3_bar_1_bar_30)
        (receptacleAtLocation Sink_bar__plus_01_dot_10_bar__plus_00_dot_91_bar__minus_01_dot_60_bar_SinkBasin loc_bar_4_bar__minus_5_bar_2_bar_60)
        (objectAtLocation Apple_bar__minus_00_dot_47_bar__plus_01_dot_15_bar__plus_00_dot_48 loc_bar__minus_1_bar_1_bar_1_bar_45)
        (objectAtLocation Bread_bar__minus_01_dot_90_bar__plus_00_dot_80_bar__plus_01_dot_40 loc_bar__minus_6_bar_5_bar_0_bar_45)
        (objectAtLocation Cup_bar__plus_01_dot_70_bar__plus_00_dot_95_bar__minus_00_dot_80 loc_bar_6_bar__minus_3_bar_1_bar_30)
        (objectAtLocation Tomato_bar__plus_00_dot_90_bar__plus_01_dot_00_bar__minus_00_dot_85 loc_bar_4_bar__minus_3_bar_1_bar_45)
        )
    (:goal
        (and
            (exists (?r - receptacle)
                (exists (?o - object)
                    (and
                        (coolable ?o)
                        (objectType ?o TomatoType)
                        (receptacleType ?r MicrowaveType)
                        (isCool ?o)
                        (inReceptacle ?o ?r)
                    )
                )
            )
        )
    )
)
