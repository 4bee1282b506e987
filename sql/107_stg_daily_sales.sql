-- stg_daily_sales: one row per store_id, product_id, date (materialized in that order).
-- Cleans raw_daily_sales and flags every repair:
--   duplicate rows           -> one kept
--   missing price            -> list price of the day less the promotion's discount
--   price outlier (>3x off)  -> the same expected price
--   missing units            -> stock balance: stock_begin + received_units - stock_end
--   negative or impossible closing stock (above what was on hand) -> stock balance
--   sales recorded with no stock -> opening stock from yesterday's close, closing stock from
--                               tomorrow's opening, receipts from the balance
-- Missing days stay missing (data_quality counts them); they are not invented.
-- materialize: order by store_id, product_id, date
create or replace view stg_daily_sales as
with
sales as (
    select * from raw_daily_sales
),

promotions as (
    select promo_id, discount_pct from stg_promotions
),

prices as (
    select * from stg_prices
),

deduplicated as (
    select *
    from sales
    qualify row_number() over (partition by store_id, product_id, date) = 1
),

priced as (
    select
        deduplicated.*,
        coalesce(promotions.discount_pct, 0.0) as discount_pct,
        round(prices.list_price * (1 - coalesce(promotions.discount_pct, 0.0)), 2) as expected_price,
    from deduplicated
    left join promotions on promotions.promo_id = deduplicated.promo_id
    left join prices
        on prices.product_id = deduplicated.product_id
        and deduplicated.date between prices.valid_from and prices.valid_to
),

flagged as (
    select
        *,
        units_sold is null as is_units_missing,
        price is null as is_price_missing,
        coalesce(price > 3 * expected_price or price < expected_price / 3, false)
            as is_price_outlier,
        coalesce(stock_end < 0, false) as is_stock_negative,
        coalesce(stock_end > stock_begin + received_units, false) as is_stock_impossible,
        coalesce(units_sold > 0 and stock_begin + received_units = 0, false)
            as is_sale_without_stock,
    from priced
),

balanced as (
    select
        *,
        coalesce(units_sold, stock_begin + received_units - stock_end) as units_fixed,
        case
            when is_stock_negative or is_stock_impossible
                then stock_begin + received_units - coalesce(units_sold, 0)
            else stock_end
        end as stock_end_balanced,
    from flagged
),

neighbours as (
    select
        *,
        lag(stock_end_balanced) over series as previous_stock_end,
        lag(date) over series as previous_date,
        lead(stock_begin) over series as next_stock_begin,
        lead(date) over series as next_date,
    from balanced
    window series as (partition by store_id, product_id order by date)
),

restocked as (
    select
        *,
        case
            when not is_sale_without_stock then stock_begin
            when previous_date = date - 1 then greatest(previous_stock_end, 0)
            else units_fixed
        end as stock_begin_fixed,
        case
            when not is_sale_without_stock then stock_end_balanced
            when next_date = date + 1 then greatest(next_stock_begin, 0)
            else 0
        end as stock_end_neighbour,
    from neighbours
),

received as (
    select
        *,
        case
            when is_sale_without_stock
                then greatest(stock_end_neighbour + units_fixed - stock_begin_fixed, 0)
            else received_units
        end as received_fixed,
    from restocked
),

final as (
    select
        date,
        store_id,
        product_id,
        units_fixed::integer as units_sold,
        case
            when is_price_missing or is_price_outlier then expected_price
            else price
        end as price,
        round(units_fixed * (case
            when is_price_missing or is_price_outlier then expected_price
            else price
        end), 2) as revenue,
        promo_id is not null as is_promo,
        promo_id,
        discount_pct,
        stock_begin_fixed::integer as stock_begin,
        received_fixed::integer as received_units,
        (stock_begin_fixed + received_fixed - units_fixed)::integer as stock_end,
        stock_begin_fixed + received_fixed - units_fixed <= 0 as is_stockout,
        is_units_missing,
        is_price_missing,
        is_price_outlier,
        is_stock_negative,
        is_stock_impossible,
        is_sale_without_stock,
        (
            is_units_missing or is_price_missing or is_price_outlier or is_stock_negative
            or is_stock_impossible or is_sale_without_stock
        ) as is_corrected,
    from received
)

select * from final
