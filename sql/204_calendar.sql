-- calendar: one row per date, with French public holidays and school holidays by zone. Public name.
create or replace view calendar as
with
calendar as (
    select * from stg_calendar
),

final as (
    select * from calendar
)

select * from final
