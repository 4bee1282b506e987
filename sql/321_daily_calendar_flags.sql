-- daily_calendar_flags: one row per date: what the calendar says about a day's sales.
-- is_store_closed; holiday_name, the public holiday that day (null on other days); eve_of, the
-- public holiday the next day (shoppers stock up the day before). Stored (731 rows) so that the
-- activity views join it without re-reading the calendar's view stack on every query.
-- materialize: order by date
create or replace view daily_calendar_flags as
with
calendar as (
    select date, is_store_closed, is_public_holiday, holiday_name, from calendar
),

holidays as (
    select
        date,
        is_store_closed,
        case when is_public_holiday then holiday_name end as holiday_name,
    from calendar
),

final as (
    select
        date,
        is_store_closed,
        holiday_name,
        lead(holiday_name) over (order by date) as eve_of,
    from holidays
)

select * from final
