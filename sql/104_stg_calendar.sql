-- stg_calendar: one row per date.
create or replace view stg_calendar as
with
source as (
    select * from raw_calendar
),

final as (
    select * from source
)

select * from final
