SELECT
  "t2"."__g0" AS "ward",
  "t2"."__g1" AS "年度",
  "t2"."__m0" AS "行内構成比（件数）",
  "t2"."__m1" AS "列内構成比（合計（amount））",
  "t2"."__m2" AS "合計（visits）（amount1,000あたり）",
  "t2"."__m3" AS "率",
  "t2"."__m4" AS "目標比（件数）",
  "t2"."__m5" AS "前年度比（件数）"
FROM (
  SELECT
    "t1"."__g0",
    "t1"."__g1",
    "t1"."__b0",
    "t1"."__b1",
    "t1"."__d2",
    "t1"."__b2",
    "t1"."__d3",
    "t1"."__b3",
    "t1"."__b4",
    "t1"."__b5",
    CAST("t1"."__b0" AS DOUBLE) / NULLIF(
      SUM(CAST("t1"."__b0" AS DOUBLE)) OVER (PARTITION BY "t1"."__g0" ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING),
      0
    ) AS "__m0",
    "t1"."__b1" / NULLIF(
      SUM("t1"."__b1") OVER (PARTITION BY "t1"."__g1" ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING),
      0
    ) AS "__m1",
    (
      CAST("t1"."__b2" AS DOUBLE) / NULLIF("t1"."__d2", 0)
    ) * 1000 AS "__m2",
    (
      CAST("t1"."__b3" AS DOUBLE) / NULLIF(CAST("t1"."__d3" AS DOUBLE), 0)
    ) * 100 AS "__m3",
    CAST("t1"."__b4" AS DOUBLE) / 12.5 AS "__m4",
    CASE
      WHEN LAG("t1"."__g1") OVER (
        PARTITION BY "t1"."__g0"
        ORDER BY "t1"."__g1" ASC
        ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
      ) = (
        "t1"."__g1" - 1
      )
      THEN CAST("t1"."__b5" AS DOUBLE) / NULLIF(
        LAG(CAST("t1"."__b5" AS DOUBLE)) OVER (
          PARTITION BY "t1"."__g0"
          ORDER BY "t1"."__g1" ASC
          ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
        ),
        0
      )
      ELSE CAST(NULL AS DOUBLE)
    END AS "__m5"
  FROM (
    SELECT
      "t0"."ward" AS "__g0",
      EXTRACT(year FROM "t0"."day") - CAST(EXTRACT(month FROM "t0"."day") < 4 AS INT) AS "__g1",
      COUNT(*) AS "__b0",
      SUM("t0"."amount") AS "__b1",
      MAX("t0"."amount") AS "__d2",
      SUM("t0"."visits") AS "__b2",
      SUM("t0"."visits") AS "__d3",
      COUNT(*) AS "__b3",
      COUNT(*) AS "__b4",
      COUNT(*) AS "__b5"
    FROM "t" AS "t0"
    GROUP BY
      1,
      2
  ) AS "t1"
) AS "t2"
ORDER BY
  "t2"."__g0" ASC,
  "t2"."__g1" ASC
