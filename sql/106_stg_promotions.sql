-- stg_promotions: one row per promo_id, with its length in days.
create or replace view stg_promotions as
with
source as (
    select * from raw_promotions
),

final as (
    select
        promo_id,
        product_id,
        region,
        start_date,
        end_date,
        (end_date - start_date + 1)::integer as duration_days,
        discount_pct,
        promo_type,
    from source
)

select * from final
