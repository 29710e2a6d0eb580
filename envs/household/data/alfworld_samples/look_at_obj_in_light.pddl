; agentgym sample: hand-written ALFRED PDDL problem for ALFWorld's engine (docs/alfred_pddl.md)
; task_type: look_at_obj_in_light
; task: look at alarmclock under the desklamp
; expert: go to shelf 1 | take alarmclock 1 from shelf 1 | go to sidetable 1 | use desklamp 1
(define (problem plan_agentgym_look_at_obj_in_light)
(:domain alfred)
(:objects
        agent1 - agent
        AlarmClockType - otype
        BookType - otype
        CellPhoneType - otype
        DeskLampType - otype
        PenType - otype
        WindowType - otype
        BedType - rtype
        DeskType - rtype
        DrawerType - rtype
        GarbageCanType - rtype
        ShelfType - rtype
        SideTableType - rtype
        AlarmClock_bar__plus_01_dot_62_bar__plus_01_dot_22_bar__plus_00_dot_35 - object
        Book_bar__minus_00_dot_20_bar__plus_00_dot_55_bar__plus_01_dot_70 - object
        CellPhone_bar__plus_01_dot_45_bar__plus_00_dot_62_bar__minus_01_dot_05 - object
        CellPhone_bar__plus_01_dot_55_bar__plus_00_dot_75_bar__minus_01_dot_25 - object
        DeskLamp_bar__minus_01_dot_35_bar__plus_00_dot_70_bar__plus_01_dot_95 - object
        Pen_bar__plus_01_dot_40_bar__plus_00_dot_75_bar__minus_01_dot_30 - object
        Window_bar__minus_00_dot_02_bar__plus_01_dot_40_bar__minus_02_dot_50 - object
        Bed_bar__minus_00_dot_10_bar__plus_00_dot_00_bar__plus_01_dot_80 - receptacle
        Desk_bar__plus_01_dot_50_bar__plus_00_dot_00_bar__minus_01_dot_20 - receptacle
        Drawer_bar__plus_01_dot_40_bar__plus_00_dot_60_bar__minus_01_dot_00 - receptacle
        GarbageCan_bar__minus_01_dot_50_bar__plus_00_dot_00_bar__minus_01_dot_60 - receptacle
        Shelf_bar__plus_01_dot_60_bar__plus_01_dot_20_bar__plus_00_dot_40 - receptacle
        SideTable_bar__minus_01_dot_30_bar__plus_00_dot_00_bar__plus_01_dot_90 - receptacle
        loc_bar__minus_4_bar_6_bar_3_bar_45 - location
        loc_bar__minus_5_bar__minus_5_bar_2_bar_60 - location
        loc_bar_0_bar__minus_7_bar_2_bar_0 - location
        loc_bar_0_bar_5_bar_0_bar_45 - location
        loc_bar_1_bar_1_bar_2_bar_30 - location
        loc_bar_4_bar__minus_3_bar_1_bar_60 - location
        loc_bar_5_bar__minus_3_bar_1_bar_45 - location
        loc_bar_5_bar_1_bar_1_bar_30 - location
        )
(:init
        (receptacleType Bed_bar__minus_00_dot_10_bar__plus_00_dot_00_bar__plus_01_dot_80 BedType)
        (receptacleType Desk_bar__plus_01_dot_50_bar__plus_00_dot_00_bar__minus_01_dot_20 DeskType)
        (receptacleType Drawer_bar__plus_01_dot_40_bar__plus_00_dot_60_bar__minus_01_dot_00 DrawerType)
        (receptacleType GarbageCan_bar__minus_01_dot_50_bar__plus_00_dot_00_bar__minus_01_dot_60 GarbageCanType)
        (receptacleType Shelf_bar__plus_01_dot_60_bar__plus_01_dot_20_bar__plus_00_dot_40 ShelfType)
        (receptacleType SideTable_bar__minus_01_dot_30_bar__plus_00_dot_00_bar__plus_01_dot_90 SideTableType)
        (objectType AlarmClock_bar__plus_01_dot_62_bar__plus_01_dot_22_bar__plus_00_dot_35 AlarmClockType)
        (objectType Book_bar__minus_00_dot_20_bar__plus_00_dot_55_bar__plus_01_dot_70 BookType)
        (objectType CellPhone_bar__plus_01_dot_45_bar__plus_00_dot_62_bar__minus_01_dot_05 CellPhoneType)
        (objectType CellPhone_bar__plus_01_dot_55_bar__plus_00_dot_75_bar__minus_01_dot_25 CellPhoneType)
        (objectType DeskLamp_bar__minus_01_dot_35_bar__plus_00_dot_70_bar__plus_01_dot_95 DeskLampType)
        (objectType Pen_bar__plus_01_dot_40_bar__plus_00_dot_75_bar__minus_01_dot_30 PenType)
        (objectType Window_bar__minus_00_dot_02_bar__plus_01_dot_40_bar__minus_02_dot_50 WindowType)
        (canContain BedType BookType)
        (canContain BedType CellPhoneType)
        (canContain DeskType AlarmClockType)
        (canContain DeskType BookType)
        (canContain DeskType CellPhoneType)
        (canContain DeskType PenType)
        (canContain DrawerType BookType)
        (canContain DrawerType CellPhoneType)
        (canContain DrawerType PenType)
        (canContain GarbageCanType PenType)
        (canContain ShelfType AlarmClockType)
        (canContain ShelfType BookType)
        (canContain ShelfType CellPhoneType)
        (canContain ShelfType PenType)
        (canContain SideTableType AlarmClockType)
        (canContain SideTableType BookType)
        (canContain SideTableType CellPhoneType)
        (canContain SideTableType PenType)
        (pickupable AlarmClock_bar__plus_01_dot_62_bar__plus_01_dot_22_bar__plus_00_dot_35)
        (pickupable Book_bar__minus_00_dot_20_bar__plus_00_dot_55_bar__plus_01_dot_70)
        (pickupable CellPhone_bar__plus_01_dot_45_bar__plus_00_dot_62_bar__minus_01_dot_05)
        (pickupable CellPhone_bar__plus_01_dot_55_bar__plus_00_dot_75_bar__minus_01_dot_25)
        (pickupable Pen_bar__plus_01_dot_40_bar__plus_00_dot_75_bar__minus_01_dot_30)
        (openable Drawer_bar__plus_01_dot_40_bar__plus_00_dot_60_bar__minus_01_dot_00)
        (atLocation agent1 loc_bar_1_bar_1_bar_2_bar_30)
        (toggleable DeskLamp_bar__minus_01_dot_35_bar__plus_00_dot_70_bar__plus_01_dot_95)
        (inReceptacle AlarmClock_bar__plus_01_dot_62_bar__plus_01_dot_22_bar__plus_00_dot_35 Shelf_bar__plus_01_dot_60_bar__plus_01_dot_20_bar__plus_00_dot_40)
        (inReceptacle Book_bar__minus_00_dot_20_bar__plus_00_dot_55_bar__plus_01_dot_70 Bed_bar__minus_00_dot_10_bar__plus_00_dot_00_bar__plus_01_dot_80)
        (inReceptacle CellPhone_bar__plus_01_dot_45_bar__plus_00_dot_62_bar__minus_01_dot_05 Drawer_bar__plus_01_dot_40_bar__plus_00_dot_60_bar__minus_01_dot_00)
        (inReceptacle CellPhone_bar__plus_01_dot_55_bar__plus_00_dot_75_bar__minus_01_dot_25 Desk_bar__plus_01_dot_50_bar__plus_00_dot_00_bar__minus_01_dot_20)
        (inReceptacle DeskLamp_bar__minus_01_dot_35_bar__plus_00_dot_70_bar__plus_01_dot_95 SideTable_bar__minus_01_dot_30_bar__plus_00_dot_00_bar__plus_01_dot_90)
        (inReceptacle Pen_bar__plus_01_dot_40_bar__plus_00_dot_75_bar__minus_01_dot_30 Desk_bar__plus_01_dot_50_bar__plus_00_dot_00_bar__minus_01_dot_20)
        (receptacleAtLocation Bed_bar__minus_00_dot_10_bar__plus_00_dot_00_bar__plus_01_dot_80 loc_bar_0_bar_5_bar_0_bar_45)
        (receptacleAtLocation Desk_bar__plus_01_dot_50_bar__plus_00_dot_00_bar__minus_01_dot_20 loc_bar_5_bar__minus_3_bar_1_bar_45)
        (receptacleAtLocation Drawer_bar__plus_01_dot_40_bar__plus_00_dot_60_bar__minus_01_dot_00 loc_bar_4_bar__minus_3_bar_1_bar_60)
        (receptacleAtLocation GarbageCan_bar__minus_01_dot_50_bar__plus_00_dot_00_bar__minus_01_dot_60 loc_bar__minus_5_bar__minus_5_bar_2_bar_60)
        (receptacleAtLocation Shelf_bar__plus_01_dot_60_bar__plus_01_dot_20_bar__plus_00_dot_40 loc_bar_5_bar_1_bar_1_bar_30)
        (receptacleAtLocation SideTable_bar__minus_01_dot_30_bar__plus_00_dot_00_bar__plus_01_dot_90 loc_bar__minus_4_bar_6_bar_3_bar_45)
        (objectAtLocation AlarmClock_bar__plus_01_dot_62_bar__plus_01_dot_22_bar__plus_00_dot_35 loc_bar_5_bar_1_bar_1_bar_30)
        (objectAtLocation Book_bar__minus_00_dot_20_bar__plus_00_dot_55_bar__plus_01_dot_70 loc_bar_0_bar_5_bar_0_bar_45)
        (objectAtLocation CellPhone_bar__plus_01_dot_45_bar__plus_00_dot_62_bar__minus_01_dot_05 loc_bar_4_bar__minus_3_bar_1_bar_60)
        (objectAtLocation CellPhone_bar__plus_01_dot_55_bar__plus_00_dot_75_bar__minus_01_dot_25 loc_bar_5_bar__minus_3_bar_1_bar_45)
        (objectAtLocation DeskLamp_bar__minus_01_dot_35_bar__plus_00_dot_70_bar__plus_01_dot_95 loc_bar__minus_4_bar_6_bar_3_bar_45)
        (objectAtLocation Pen_bar__plus_01_dot_40_bar__plus_00_dot_75_bar__minus_01_dot_30 loc_bar_5_bar__minus_3_bar_1_bar_45)
        (objectAtLocation Window_bar__minus_00_dot_02_bar__plus_01_dot_40_bar__minus_02_dot_50 loc_bar_0_bar__minus_7_bar_2_bar_0)
        )
    (:goal
         (and
             (exists (?ot - object
                      ?r - receptacle
                      ?a - agent
                      ?l - location)
                 (and
                     (objectType ?ot DeskLampType)
                     (toggleable ?ot)
                     (isToggled ?ot)
                     (receptacleAtLocation ?r ?l)
                     (atLocation ?a ?l)
                     (inReceptacle ?ot ?r)
                 )
             )
             (exists (?o - object
                      ?a - agent)
                 (and
                     (objectType ?o AlarmClockType)
                     (holds ?a ?o)
                 )
             )
         )
    )
)
