-- stores: one row per store_id. Public name: analysts write SQL against it.
create or replace view stores as
with
stores as (
    select * from stg_stores
),

final as (
    select store_id, store_name, city, region, school_zone, format, size_sqm,
    from stores
)

select * from final
