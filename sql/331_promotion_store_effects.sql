-- promotion_store_effects: one row per promo_id, store_id: what a promotion did in one store,
-- estimated at build time (data/jobs.py) against a baseline of what would have sold without it.
-- Units are units, money EUR (revenue at the price paid; baselines at the regular price), shares
-- 0 to 1. *_se are standard errors (add their squares to combine rows), *_lo95/*_hi95 95%
-- intervals. dip_* cover the 7 days after the promotion, cannibalised_* the other products of
-- the subcategory in the same store during it, net_* all three together.
-- materialize: order by category, promo_id, store_id
create or replace view promotion_store_effects as
with
estimates as (
    select * from promotion_estimates
),

promotions as (
    select promo_id, region, start_date, end_date, promo_type, from promotions
),

products as (
    select product_id, product_name, category, subcategory, from products
),

stores as (
    select store_id, store_name, region, from stores
),

final as (
    select
        estimates.promo_id,
        estimates.store_id,
        estimates.product_id,
        products.product_name,
        products.category,
        products.subcategory,
        stores.store_name,
        stores.region,
        promotions.region is null as is_national,
        promotions.start_date,
        promotions.end_date,
        promotions.promo_type,
        estimates.discount_pct,
        (round(estimates.discount_pct * 20) / 20)::double as discount_bucket_pct,
        estimates.promo_days,
        estimates.stockout_days,
        estimates.actual_units,
        estimates.baseline_units,
        estimates.baseline_units_se,
        estimates.incremental_units,
        estimates.incremental_units_lo95,
        estimates.incremental_units_hi95,
        estimates.uplift_pct,
        estimates.uplift_pct_lo95,
        estimates.uplift_pct_hi95,
        estimates.actual_revenue,
        estimates.baseline_revenue,
        estimates.incremental_revenue,
        estimates.incremental_revenue_se,
        estimates.incremental_revenue_lo95,
        estimates.incremental_revenue_hi95,
        estimates.dip_days,
        estimates.dip_actual_units,
        estimates.dip_baseline_units,
        estimates.dip_units,
        estimates.dip_units_se,
        estimates.dip_units_lo95,
        estimates.dip_units_hi95,
        estimates.dip_revenue,
        estimates.dip_revenue_se,
        estimates.sibling_count,
        estimates.cannibalised_units,
        estimates.cannibalised_units_se,
        estimates.cannibalised_units_lo95,
        estimates.cannibalised_units_hi95,
        estimates.cannibalised_revenue,
        estimates.cannibalised_revenue_se,
        estimates.net_incremental_units,
        estimates.net_incremental_units_se,
        estimates.net_incremental_units_lo95,
        estimates.net_incremental_units_hi95,
        estimates.net_incremental_revenue,
        estimates.net_incremental_revenue_se,
        estimates.net_incremental_revenue_lo95,
        estimates.net_incremental_revenue_hi95,
        estimates.train_days,
        estimates.r_squared,
    from estimates
    inner join promotions on promotions.promo_id = estimates.promo_id
    inner join products on products.product_id = estimates.product_id
    inner join stores on stores.store_id = estimates.store_id
)

select * from final
