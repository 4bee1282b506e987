-- stg_stores: one row per store_id. Trims names; the key is never null.
create or replace view stg_stores as
with
source as (
    select * from raw_stores
),

final as (
    select
        store_id,
        trim(store_name) as store_name,
        trim(city) as city,
        trim(region) as region,
        upper(school_zone) as school_zone,
        lower(format) as format,
        size_sqm,
    from source
    where store_id is not null
    qualify row_number() over (partition by store_id order by store_name) = 1
)

select * from final
