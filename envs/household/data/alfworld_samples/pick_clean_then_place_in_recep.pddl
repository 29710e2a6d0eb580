; agentgym sample: hand-written ALFRED PDDL problem for ALFWorld's engine (docs/alfred_pddl.md)
; task_type: pick_clean_then_place_in_recep
; task: put a clean mug in coffeemachine
; expert: go to countertop 1 | take mug 1 from countertop 1 | go to sinkbasin 1 | clean mug 1 with sinkbasin 1 | go to coffeemachine 1 | move mug 1 to coffeemachine 1
(define (problem plan_agentgym_pick_clean_then_place_in_recep)
(:domain alfred)
(:objects
        agent1 - agent
        AppleType - otype
        ForkType - otype
        MugType - otype
        CabinetType - rtype
        CoffeeMachineType - rtype
        CounterTopType - rtype
        DiningTableType - rtype
        FridgeType - rtype
        GarbageCanType - rtype
        MicrowaveType - rtype
        SinkBasinType - rtype
        Apple_bar__minus_00_dot_47_bar__plus_01_dot_15_bar__plus_00_dot_48 - object
        Fork_bar__plus_00_dot_95_bar__plus_00_dot_97_bar__minus_00_dot_90 - object
        Mug_bar__plus_01_dot_05_bar__plus_01_dot_00_bar__minus_01_dot_10 - object
        Mug_bar__minus_01_dot_05_bar__plus_00_dot_55_bar__minus_02_dot_05 - object
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
        (objectType Fork_bar__plus_00_dot_95_bar__plus_00_dot_97_bar__minus_00_dot_90 ForkType)
        (objectType Mug_bar__plus_01_dot_05_bar__plus_01_dot_00_bar__minus_01_dot_10 MugType)
        (objectType Mug_bar__minus_01_dot_05_bar__plus_00_dot_55_bar__minus_02_dot_05 MugType)
        (canContain CabinetType MugType)
        (canContain CoffeeMachineType MugType)
        (canContain CounterTopType AppleType)
        (canContain CounterTopType ForkType)
        (canContain CounterTopType MugType)
        (canContain DiningTableType AppleType)
        (canContain DiningTableType ForkType)
        (canContain DiningTableType MugType)
        (canContain FridgeType AppleType)
        (canContain FridgeType MugType)
        (canContain GarbageCanType AppleType)
        (canContain MicrowaveType AppleType)
        (canContain MicrowaveType MugType)
        (canContain SinkBasinType AppleType)
        (canContain SinkBasinType ForkType)
        (canContain SinkBasinType MugType)
        (pickupable Apple_bar__minus_00_dot_47_bar__plus_01_dot_15_bar__plus_00_dot_48)
        (pickupable Fork_bar__plus_00_dot_95_bar__plus_00_dot_97_bar__minus_00_dot_90)
        (pickupable Mug_bar__plus_01_dot_05_bar__plus_01_dot_00_bar__minus_01_dot_10)
        (pickupable Mug_bar__minus_01_dot_05_bar__plus_00_dot_55_bar__minus_02_dot_05)
        (isReceptacleObject Mug_bar__plus_01_dot_05_bar__plus_01_dot_00_bar__minus_01_dot_10)
        (isReceptacleObject Mug_bar__minus_01_dot_05_bar__plus_00_dot_55_bar__minus_02_dot_05)
        (openable Cabinet_bar__minus_01_dot_00_bar__plus_00_dot_50_bar__minus_02_dot_00)
        (openable Fridge_bar__minus_02_dot_10_bar__plus_00_dot_00_bar__plus_01_dot_07)
        (openable Microwave_bar__plus_01_dot_75_bar__plus_00_dot_90_bar__minus_00_dot_84)
        (atLocation agent1 loc_bar_0_bar_0_bar_0_bar_30)
        (cleanable Apple_bar__minus_00_dot_47_bar__plus_01_dot_15_bar__plus_00_dot_48)
        (cleanable Fork_bar__plus_00_dot_95_bar__plus_00_dot_97_bar__minus_00_dot_90)
        (cleanable Mug_bar__plus_01_dot_05_bar__plus_01_dot_00_bar__minus_01_dot_10)
        (cleanable Mug_bar__minus_01_dot_05_bar__plus_00_dot_55_bar__minus_02_dot_05)
        (heatable Apple_bar__minus_00_dot_47_bar__plus_01_dot_15_bar__plus_00_dot_48)
        (heatable Mug_bar__plus_01_dot_05_bar__plus_01_dot_00_bar__minus_01_dot_10)
        (heatable Mug_bar__minus_01_dot_05_bar__plus_00_dot_55_bar__minus_02_dot_05)
        (coolable Apple_bar__minus_00_dot_47_bar__plus_01_dot_15_bar__plus_00_dot_48)
        (coolable Mug_bar__plus_01_dot_05_bar__plus_01_dot_00_bar__minus_01_dot_10)
        (coolable Mug_bar__minus_01_dot_05_bar__plus_00_dot_55_bar__minus_02_dot_05)
        (sliceable Apple_bar__minus_00_dot_47_bar__plus_01_dot_15_bar__plus_00_dot_48)
        (inReceptacle Apple_bar__minus_00_dot_47_bar__plus_01_dot_15_bar__plus_00_dot_48 CounterTop_bar__minus_00_dot_08_bar__plus_01_dot_15_bar_00_dot_00)
        (inReceptacle Fork_bar__plus_00_dot_95_bar__plus_00_dot_97_bar__minus_00_dot_90 CounterTop_bar__plus_01_dot_00_bar__plus_00_dot_95_bar__minus_01_dot_00)
        (inReceptacle Mug_bar__plus_01_dot_05_bar__plus_01_dot_00_bar__minus_01_dot_10 CounterTop_bar__plus_01_dot_00_bar__plus_00_dot_95_bar__minus_01_dot_00)
        (inReceptacle Mug_bar__minus_01_dot_05_bar__plus_00_dot_55_bar__minus_02_dot_05 Cabinet_bar__minus_01_dot_00_bar__plus_00_dot_50_bar__minus_02_dot_00)
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
        (objectAtLocation Fork_bar__plus_00_dot_95_bar__plus_00_dot_97_bar__minus_00_dot_90 loc_bar_4_bar__minus_3_bar_1_bar_45)
        (objectAtLocation Mug_bar__plus_01_dot_05_bar__plus_01_dot_00_bar__minus_01_dot_10 loc_bar_4_bar__minus_3_bar_1_bar_45)
        (objectAtLocation Mug_bar__minus_01_dot_05_bar__plus_00_dot_55_bar__minus_02_dot_05 loc_bar__minus_4_bar__minus_6_bar_2_bar_45)
        )
    (:goal
        (and
            (exists (?r - receptacle)
                (exists (?o - object)
                    (and
                        (cleanable ?o)
                        (objectType ?o MugType)
                        (receptacleType ?r CoffeeMachineType)
                        (isClean ?o)
                        (inReceptacle ?o ?r)
                    )
                )
            )
        )
    )
)
