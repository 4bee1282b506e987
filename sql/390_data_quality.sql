-- data_quality: one row per table_name, check_name: how many rows each defect touched in the raw
-- feed, what staging did about it, and the SQL that lists those rows. Public name.
-- materialize: order by table_name, check_name
create or replace view data_quality as
with
raw_sales as (
    select * from raw_daily_sales
),

clean_sales as (
    select * from stg_daily_sales
),

raw_customers as (
    select * from raw_customers
),

sales_shape as (
    select
        count(*)::bigint as raw_rows,
        count(distinct (store_id, product_id, date))::bigint as distinct_keys,
        count(distinct (store_id, product_id))::bigint as series,
        (max(date) - min(date) + 1)::bigint as days,
    from raw_sales
),

sales_flags as (
    select
        count(*) filter (where is_units_missing)::bigint as missing_units,
        count(*) filter (where is_price_missing)::bigint as missing_price,
        count(*) filter (where is_price_outlier)::bigint as price_outlier,
        count(*) filter (where is_stock_negative)::bigint as negative_stock,
        count(*) filter (where is_stock_impossible)::bigint as impossible_stock,
        count(*) filter (where is_sale_without_stock)::bigint as sales_on_zero_stock,
    from clean_sales
),

checks as (
    select 'daily_sales' as table_name, 'duplicate_row' as check_name,
        raw_rows - distinct_keys as affected_rows, raw_rows as total_rows,
        'exact duplicates of a store, product and day' as description,
        'kept one row' as action,
        'select store_id, product_id, date, count(*) as copies from raw_daily_sales group by all having count(*) > 1 order by copies desc, store_id, product_id, date' as rows_sql,
    from sales_shape
    union all
    select 'daily_sales', 'missing_day', series * days - distinct_keys, series * days,
        'store x product x day with no row in the feed', 'left missing; models treat it as a gap',
        'with series as (select distinct store_id, product_id from raw_daily_sales), days as (select unnest(range((select min(date) from raw_daily_sales), (select max(date) from raw_daily_sales) + 1, interval 1 day))::date as date) select series.store_id, series.product_id, days.date from series cross join days anti join raw_daily_sales using (store_id, product_id, date) order by all'
    from sales_shape
    union all
    select 'daily_sales', 'missing_units', missing_units, (select distinct_keys from sales_shape),
        'units sold is null', 'imputed from the stock balance',
        'select * from stg_daily_sales where is_units_missing order by store_id, product_id, date'
    from sales_flags
    union all
    select 'daily_sales', 'missing_price', missing_price, (select distinct_keys from sales_shape),
        'price is null', 'list price less the promotion discount',
        'select * from stg_daily_sales where is_price_missing order by store_id, product_id, date'
    from sales_flags
    union all
    select 'daily_sales', 'price_outlier', price_outlier, (select distinct_keys from sales_shape),
        'price more than 3x away from the list price', 'replaced by the expected price',
        'select r.*, s.price as repaired_price from raw_daily_sales r join stg_daily_sales s using (store_id, product_id, date) where s.is_price_outlier order by store_id, product_id, date'
    from sales_flags
    union all
    select 'daily_sales', 'negative_stock', negative_stock, (select distinct_keys from sales_shape),
        'closing stock below zero', 'recomputed from the stock balance',
        'select * from stg_daily_sales where is_stock_negative order by store_id, product_id, date'
    from sales_flags
    union all
    select 'daily_sales', 'impossible_stock', impossible_stock,
        (select distinct_keys from sales_shape),
        'closing stock above what was on hand', 'recomputed from the stock balance',
        'select * from stg_daily_sales where is_stock_impossible order by store_id, product_id, date'
    from sales_flags
    union all
    select 'daily_sales', 'sales_on_zero_stock', sales_on_zero_stock,
        (select distinct_keys from sales_shape),
        'units sold on a day that records no stock', 'stock rebuilt from the neighbouring days',
        'select * from stg_daily_sales where is_sale_without_stock order by store_id, product_id, date'
    from sales_flags
    union all
    select 'customers', 'missing_customer_profile',
        count(*) filter (where age_band is null)::bigint, count(*)::bigint,
        'customer with no age band', 'age band set to unknown',
        'select * from raw_customers where age_band is null order by customer_id'
    from raw_customers
),

final as (
    select
        table_name,
        check_name,
        affected_rows::bigint as affected_rows,
        total_rows::bigint as total_rows,
        round(affected_rows / nullif(total_rows, 0), 6)::double as affected_share,
        description,
        action,
        rows_sql,
    from checks
)

select * from final
