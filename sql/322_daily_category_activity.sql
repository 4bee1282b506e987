-- daily_category_activity: one row per date, store_id, category.
-- Units sold with the number of store x product series behind them and how many of those were on
-- promotion or out of stock that day, with the day's calendar flags: the seasonality page's
-- aggregate series and the context that explains its anomalies. A view over the stored
-- daily_category_sales (kept in category, store, date order), so no second scan of daily_sales.
create or replace view daily_category_activity as
with
categories as (
    select * from daily_category_sales
),

calendar as (
    select * from daily_calendar_flags
),

final as (
    select
        categories.date,
        categories.store_id,
        categories.region,
        categories.category,
        categories.units_sold,
        categories.series_count,
        categories.promo_count,
        categories.stockout_count,
        coalesce(calendar.is_store_closed, false) as is_store_closed,
        calendar.holiday_name,
        calendar.eve_of,
    from categories
    left join calendar on calendar.date = categories.date
)

select * from final
