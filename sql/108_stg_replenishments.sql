-- stg_replenishments: one row per order_id, with the actual lead time and lateness.
create or replace view stg_replenishments as
with
source as (
    select * from raw_replenishments
),

final as (
    select
        order_id,
        store_id,
        product_id,
        order_date,
        expected_date,
        delivered_date,
        ordered_units,
        delivered_units,
        status,
        (delivered_date - order_date)::integer as actual_lead_time_days,
        coalesce(delivered_date > expected_date, false) as is_late,
        coalesce(delivered_units < ordered_units, false) as is_short,
    from source
)

select * from final
