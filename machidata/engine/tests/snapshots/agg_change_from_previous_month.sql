SELECT
  "t2"."__m1" AS "前月比（合計（amount））",
  "t2"."__g0" AS "at（月）"
FROM (
  SELECT
    "t1"."__g0",
    "t1"."__m0",
    "t1"."__b1",
    CASE
      WHEN LAG("t1"."__g0") OVER (ORDER BY "t1"."__g0" ASC ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) = (
        "t1"."__g0" - INTERVAL '1' MONTH
      )
      THEN "t1"."__b1" / NULLIF(
        LAG("t1"."__b1") OVER (ORDER BY "t1"."__g0" ASC ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING),
        0
      )
      ELSE CAST(NULL AS DOUBLE)
    END AS "__m1"
  FROM (
    SELECT
      CAST(DATE_TRUNC('MONTH', "t0"."at") AS DATE) AS "__g0",
      SUM("t0"."amount") AS "__m0",
      SUM("t0"."amount") AS "__b1"
    FROM "t" AS "t0"
    GROUP BY
      1
  ) AS "t1"
) AS "t2"
ORDER BY
  "t2"."__g0" ASC
LIMIT 12
OFFSET 12
