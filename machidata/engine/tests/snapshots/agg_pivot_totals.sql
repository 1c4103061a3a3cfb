WITH "t1" AS (
  SELECT
    "t0"."ward" AS "__g0",
    EXTRACT(year FROM "t0"."at") - CAST(EXTRACT(month FROM "t0"."at") < 4 AS INT) AS "__g1",
    SUM("t0"."visits") AS "__m0",
    COUNT(*) AS "__m1"
  FROM "t" AS "t0"
  GROUP BY
    1,
    2
)
SELECT
  "t12"."__g0" AS "ward",
  "t12"."__g1" AS "年度",
  "t12"."__m0" AS "合計（visits）",
  "t12"."__m1" AS "件数",
  "t12"."__t" AS "合計区分"
FROM (
  SELECT
    *
  FROM (
    SELECT
      *
    FROM (
      SELECT
        "t2"."__g0",
        "t2"."__g1",
        "t2"."__m0",
        "t2"."__m1",
        0 AS "__t"
      FROM "t1" AS "t2"
    ) AS "t3"
    UNION ALL
    SELECT
      *
    FROM (
      SELECT
        "t4"."__g0",
        CAST(NULL AS BIGINT) AS "__g1",
        "t4"."__m0",
        "t4"."__m1",
        2 AS "__t"
      FROM (
        SELECT
          "t2"."__g0",
          SUM("t2"."__m0") AS "__m0",
          SUM("t2"."__m1") AS "__m1"
        FROM "t1" AS "t2"
        GROUP BY
          1
      ) AS "t4"
    ) AS "t7"
  ) AS "t10"
  UNION ALL
  SELECT
    *
  FROM (
    SELECT
      *
    FROM (
      SELECT
        CAST(NULL AS TEXT) AS "__g0",
        "t5"."__g1",
        "t5"."__m0",
        "t5"."__m1",
        1 AS "__t"
      FROM (
        SELECT
          "t2"."__g1",
          SUM("t2"."__m0") AS "__m0",
          SUM("t2"."__m1") AS "__m1"
        FROM "t1" AS "t2"
        GROUP BY
          1
      ) AS "t5"
    ) AS "t8"
    UNION ALL
    SELECT
      *
    FROM (
      SELECT
        CAST(NULL AS TEXT) AS "__g0",
        CAST(NULL AS BIGINT) AS "__g1",
        "t6"."__m0",
        "t6"."__m1",
        3 AS "__t"
      FROM (
        SELECT
          SUM("t2"."__m0") AS "__m0",
          SUM("t2"."__m1") AS "__m1"
        FROM "t1" AS "t2"
      ) AS "t6"
    ) AS "t9"
  ) AS "t11"
) AS "t12"
ORDER BY
  "t12"."__g0" ASC,
  "t12"."__g1" ASC,
  "t12"."__t" ASC
