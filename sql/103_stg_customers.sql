-- stg_customers: one row per customer_id. A missing age band becomes 'unknown' and is flagged.
create or replace view stg_customers as
with
source as (
    select * from raw_customers
),

final as (
    select
        customer_id,
        coalesce(age_band, 'unknown') as age_band,
        household_size,
        loyalty_tier,
        region,
        home_store_id,
        price_sensitivity,
        preferred_categories,
        signup_date,
        age_band is null as is_profile_incomplete,
    from source
    where customer_id is not null
)

select * from final
