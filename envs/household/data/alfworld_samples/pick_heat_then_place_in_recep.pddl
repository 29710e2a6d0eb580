; agentgym sample: hand-written ALFRED PDDL problem for ALFWorld's engine (docs/alfred_pddl.md)
; task_type: pick_heat_then_place_in_recep
; task: put a hot egg in diningtable
; expert: go to fridge 1 | open fridge 1 | take egg 2 from fridge 1 | close fridge 1 | go to microwave 1 | heat egg 2 with microwave 1 | go to diningtable 1 | move egg 2 to diningtable 1
(define (problem plan_agentgym_pick_heat_then_place_in_recep)
(:domain alfred)
(:objects
        agent1 - agent
        EggType - otype
        LettuceType - otype
        PlateType - otype
        PotatoType - otype
        StoveKnobType - otype
        CabinetType - rtype
        CoffeeMachineType - rtype
        CounterTopType - rtype
        DiningTableType - rtype
        FridgeType - rtype
        GarbageCanType - rtype
        MicrowaveType - rtype
        SinkBasinType - rtype
        Egg_bar__plus_01_dot_10_bar__plus_00_dot_98_bar__minus_00_dot_95 - object
        Egg_bar__minus_02_dot_05_bar__plus_00_dot_80_bar__plus_01_dot_00 - object
        Lettuce_bar__minus_02_dot_15_bar__plus_00_dot_90_bar__plus_01_dot_10 - object
        Plate_bar__minus_02_dot_10_bar__plus_00_dot_78_bar__plus_01_dot_45 - object
        Potato_bar__minus_00_dot_30_bar__plus_01_dot_20_bar__plus_00_dot_20 - object
        StoveKnob_bar__plus_01_dot_36_bar__plus_00_dot_82_bar__minus_00_dot_05 - object
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
        loc_bar_4_bar_0_bar_1_bar_60 - location
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
        (objectType Egg_bar__plus_01_dot_10_bar__plus_00_dot_98_bar__minus_00_dot_95 EggType)
        (objectType Egg_bar__minus_02_dot_05_bar__plus_00_dot_80_bar__plus_01_dot_00 EggType)
        (objectType Lettuce_bar__minus_02_dot_15_bar__plus_00_dot_90_bar__plus_01_dot_10 LettuceType)
        (objectType Plate_bar__minus_02_dot_10_bar__plus_00_dot_78_bar__plus_01_dot_45 PlateType)
        (objectType Potato_bar__minus_00_dot_30_bar__plus_01_dot_20_bar__plus_00_dot_20 PotatoType)
        (objectType StoveKnob_bar__plus_01_dot_36_bar__plus_00_dot_82_bar__minus_00_dot_05 StoveKnobType)
        (canContain CabinetType PlateType)
        (canContain CounterTopType EggType)
        (canContain CounterTopType LettuceType)
        (canContain CounterTopType PlateType)
        (canContain CounterTopType PotatoType)
        (canContain DiningTableType EggType)
        (canContain DiningTableType LettuceType)
        (canContain DiningTableType PlateType)
        (canContain DiningTableType PotatoType)
        (canContain FridgeType EggType)
        (canContain FridgeType LettuceType)
        (canContain FridgeType PlateType)
        (canContain FridgeType PotatoType)
        (canContain GarbageCanType EggType)
        (canContain GarbageCanType LettuceType)
        (canContain GarbageCanType PotatoType)
        (canContain MicrowaveType EggType)
        (canContain MicrowaveType PlateType)
        (canContain MicrowaveType PotatoType)
        (canContain SinkBasinType EggType)
        (canContain SinkBasinType LettuceType)
        (canContain SinkBasinType PlateType)
        (canContain SinkBasinType PotatoType)
        (pickupable Egg_bar__plus_01_dot_10_bar__plus_00_dot_98_bar__minus_00_dot_95)
        (pickupable Egg_bar__minus_02_dot_05_bar__plus_00_dot_80_bar__plus_01_dot_00)
        (pickupable Lettuce_bar__minus_02_dot_15_bar__plus_00_dot_90_bar__plus_01_dot_10)
        (pickupable Plate_bar__minus_02_dot_10_bar__plus_00_dot_78_bar__plus_01_dot_45)
        (pickupable Potato_bar__minus_00_dot_30_bar__plus_01_dot_20_bar__plus_00_dot_20)
        (isReceptacleObject Plate_bar__minus_02_dot_10_bar__plus_00_dot_78_bar__plus_01_dot_45)
        (openable Cabinet_bar__minus_01_dot_00_bar__plus_00_dot_50_bar__minus_02_dot_00)
        (openable Fridge_bar__minus_02_dot_10_bar__plus_00_dot_00_bar__plus_01_dot_07)
        (openable Microwave_bar__plus_01_dot_75_bar__plus_00_dot_90_bar__minus_00_dot_84)
        (atLocation agent1 loc_bar_0_bar_0_bar_0_bar_30)
        (cleanable Egg_bar__plus_01_dot_10_bar__plus_00_dot_98_bar__minus_00_dot_95)
        (cleanable Egg_bar__minus_02_dot_05_bar__plus_00_dot_80_bar__plus_01_dot_00)
        (cleanable Lettuce_bar__minus_02_dot_15_bar__plus_00_dot_90_bar__plus_01_dot_10)
        (cleanable Plate_bar__minus_02_dot_10_bar__plus_00_dot_78_bar__plus_01_dot_45)
        (cleanable Potato_bar__minus_00_dot_30_bar__plus_01_dot_20_bar__plus_00_dot_20)
        (heatable Egg_bar__plus_01_dot_10_bar__plus_00_dot_98_bar__minus_00_dot_95)
        (heatable Egg_bar__minus_02_dot_05_bar__plus_00_dot_80_bar__plus_01_dot_00)
        (heatable Plate_bar__minus_02_dot_10_bar__plus_00_dot_78_bar__plus_01_dot_45)
        (heatable Potato_bar__minus_00_dot_30_bar__plus_01_dot_20_bar__plus_00_dot_20)
        (coolable Egg_bar__plus_01_dot_10_bar__plus_00_dot_98_bar__minus_00_dot_95)
        (coolable Egg_bar__minus_02_dot_05_bar__plus_00_dot_80_bar__plus_01_dot_00)
        (coolable Lettuce_bar__minus_02_dot_15_bar__plus_00_dot_90_bar__plus_01_dot_10)
        (coolable Plate_bar__minus_02_dot_10_bar__plus_00_dot_78_bar__plus_01_dot_45)
        (coolable Potato_bar__minus_00_dot_30_bar__plus_01_dot_20_bar__plus_00_dot_20)
        (sliceable Egg_bar__plus_01_dot_10_bar__plus_00_dot_98_bar__minus_00_dot_95)
        (sliceable Egg_bar__minus_02_dot_05_bar__plus_00_dot_80_bar__plus_01_dot_00)
        (sliceable Lettuce_bar__minus_02_dot_15_bar__plus_00_dot_90_bar__plus_01_dot_10)
        (sliceable Potato_bar__minus_00_dot_30_bar__plus_01_dot_20_bar__plus_00_dot_20)
        (inReceptacle Egg_bar__plus_01_dot_10_bar__plus_00_dot_98_bar__minus_00_dot_95 CounterTop_bar__plus_01_dot_00_bar__plus_00_dot_95_bar__minus_01_dot_00)
        (inReceptacle Egg_bar__minus_02_dot_05_bar__plus_00_dot_80_bar__plus_01_dot_00 Fridge_bar__minus_02_dot_10_bar__plus_00_dot_00_bar__plus_01_dot_07)
        (inReceptacle Lettuce_bar__minus_02_dot_15_bar__plus_00_dot_90_bar__plus_01_dot_10 Fridge_bar__minus_02_dot_10_bar__plus_00_dot_00_bar__plus_01_dot_07)
        (inReceptacle Plate_bar__minus_02_dot_10_bar__plus_00_dot_78_bar__plus_01_dot_45 DiningTable_bar__minus_02_dot_00_bar__plus_00_dot_75_bar__plus_01_dot_50)
        (inReceptacle Potato_bar__minus_00_dot_30_bar__plus_01_dot_20_bar__plus_00_dot_20 CounterTop_bar__minus_00_dot_08_bar__plus_01_dot_15_bar_00_dot_00)
        (receptacleAtLocation Cabinet_bar__minus_01_dot_00_bar__plus_00_dot_50_bar__minus_02_dot_00 loc_bar__minus_4_bar__minus_6_bar_2_bar_45)
        (receptacleAtLocation CoffeeMachine_bar__plus_00_dot_50_bar__plus_00_dot_90_bar__minus_01_dot_60 loc_bar_2_bar__minus_5_bar_2_bar_45)
        (receptacleAtLocation CounterTop_bar__plus_01_dot_00_bar__plus_00_dot_95_bar__minus_01_dot_00 loc_bar_4_bar__minus_3_bar_1_bar_45)
        (receptacleAtLocation CounterTop_bar__minus_00_dot_08_bar__plus_01_dot_15_bar_00_dot_00 loc_bar__minus_1_bar_1_bar_1_bar_45)
        (receptacleAtLocation DiningTable_bar__minus_02_dot_00_bar__plus_00_dot_75_bar__plus_01_dot_50 loc_bar__minus_6_bar_5_bar_0_bar_45)
        (receptacleAtLocation Fridge_bar__minus_02_dot_10_bar__plus_00_dot_00_bar__plus_01_dot_07 loc_bar__minus_6_bar_4_bar_3_bar_45)
        (receptacleAtLocation GarbageCan_bar__minus_01_dot_94_bar_00_dot_00_bar__plus_02_dot_03 loc_bar__minus_7_bar_7_bar_0_bar_60)
        (receptacleAtLocation Microwave_bar__plus_01_dot_75_bar__plus_00_dot_90_bar__minus_00_dot_84 loc_bar_6_bar__minus_3_bar_1_bar_30)
        (receptacleAtLocation Sink_bar__plus_01_dot_10_bar__plus_00_dot_91_bar__minus_01_dot_60_bar_SinkBasin loc_bar_4_bar__minus_5_bar_2_bar_60)
        (objectAtLocation Egg_bar__plus_01_dot_10_bar__plus_00_dot_98_bar__minus_00_dot_95 loc_bar_4_bar__minus_3_bar_1_bar_45)
        (objectAtLocation Egg_bar__minus_02_dot_05_bar__plus_00_dot_80_bar__plus_01_dot_00 loc_bar__minus_6_bar_4_bar_3_bar_45)
        (objectAtLocation Lettuce_bar__minus_02_dot_15_bar__plus_00_dot_90_bar__plus_01_dot_10 loc_bar__minus_6_bar_4_bar_3_bar_45)
        (objectAtLocation Plate_bar__minus_02_dot_10_bar__plus_00_dot_78_bar__plus_01_dot_45 loc_bar__minus_6_bar_5_bar_0_bar_45)
        (objectAtLocation Potato_bar__minus_00_dot_30_bar__plus_01_dot_20_bar__plus_00_dot_20 loc_bar__minus_1_bar_1_bar_1_bar_45)
        (objectAtLocation StoveKnob_bar__plus_01_dot_36_bar__plus_00_dot_82_bar__minus_00_dot_05 loc_bar_4_bar_0_bar_1_bar_60)
        )
    (:goal
        (and
            (exists (?r - receptacle)
                (exists (?o - object)
                    (and
                        (heatable ?o)
                        (objectType ?o EggType)
                        (receptacleType ?r DiningTableType)
                        (isHot ?o)
                        (inReceptacle ?o ?r)
                    )
                )
            )
        )
    )
)
