-- daily_series_activity: one row per date, store_id, product_id (a plain view, not stored).
-- One store x product's day in the columns of daily_category_activity (counts of 0 or 1), with
-- the day's calendar flags. daily_sales is stored by store_id, product_id, date, so a filter on
-- one series reads about 731 contiguous rows; daily_calendar_flags is a stored 731-row table.
create or replace view daily_series_activity as
with
sales as (
    select * from daily_sales
),

calendar as (
    select * from daily_calendar_flags
),

final as (
    select
        sales.date,
        sales.store_id,
        sales.product_id,
        sales.units_sold::bigint as units_sold,
        1::bigint as series_count,
        sales.is_promo::bigint as promo_count,
        sales.is_stockout::bigint as stockout_count,
        coalesce(calendar.is_store_closed, false) as is_store_closed,
        calendar.holiday_name,
        calendar.eve_of,
    from sales
    left join calendar on calendar.date = sales.date
)

select * from final
