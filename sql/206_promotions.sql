-- promotions: one row per promo_id; region null means every store. Public name.
create or replace view promotions as
with
promotions as (
    select * from stg_promotions
),

final as (
    select * from promotions
)

select * from final
