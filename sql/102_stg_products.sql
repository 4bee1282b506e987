-- stg_products: one row per product_id, with the gross margin of the base price.
create or replace view stg_products as
with
source as (
    select * from raw_products
),

final as (
    select
        product_id,
        trim(product_name) as product_name,
        trim(brand) as brand,
        trim(category) as category,
        trim(subcategory) as subcategory,
        base_price,
        unit_cost,
        round((base_price - unit_cost) / nullif(base_price, 0), 4) as margin_pct,
        lead_time_days,
        greatest(coalesce(pack_size, 1), 1) as pack_size,
    from source
    where product_id is not null
    qualify row_number() over (partition by product_id order by product_name) = 1
)

select * from final
