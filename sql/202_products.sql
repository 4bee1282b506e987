-- products: one row per product_id. Public name.
create or replace view products as
with
products as (
    select * from stg_products
),

final as (
    select
        product_id,
        product_name,
        brand,
        category,
        subcategory,
        base_price,
        unit_cost,
        margin_pct,
        lead_time_days,
        pack_size,
    from products
)

select * from final
