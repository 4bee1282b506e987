-- baskets: one row per basket_id, product_id (loyalty-card purchase lines). Public name.
create or replace view baskets as
with
baskets as (
    select * from stg_baskets
),

final as (
    select * from baskets
)

select * from final
