-- customers: one row per customer_id (loyalty-card holders). Public name.
create or replace view customers as
with
customers as (
    select * from stg_customers
),

final as (
    select
        customer_id,
        age_band,
        household_size,
        loyalty_tier,
        region,
        home_store_id,
        price_sensitivity,
        preferred_categories,
        signup_date,
    from customers
)

select * from final
