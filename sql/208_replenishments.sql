-- replenishments: one row per order_id (store orders to suppliers; status open/delivered/late/short).
create or replace view replenishments as
with
orders as (
    select * from stg_replenishments
),

final as (
    select * from orders
)

select * from final
