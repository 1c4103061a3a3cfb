SELECT
  "t5"."__g0" AS "ward",
  "t5"."__m0" AS "件数",
  "t5"."__m1" AS "中央値（amount）",
  "t5"."__m2" AS "構成比（件数）"
FROM (
  SELECT
    "t4".*
    EXCLUDE ("__rank")
  FROM (
    SELECT
      *
    FROM (
      SELECT
        "t2"."__g0",
        "t2"."__m0",
        "t2"."__m1",
        "t2"."__b2",
        "t2"."__m2",
        ROW_NUMBER() OVER (
          ORDER BY "t2"."__m0" DESC, "t2"."__g0" ASC
          ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
        ) - 1 AS "__rank"
      FROM (
        SELECT
          "t1"."__g0",
          "t1"."__m0",
          "t1"."__m1",
          "t1"."__b2",
          CAST("t1"."__b2" AS DOUBLE) / NULLIF(
            SUM(CAST("t1"."__b2" AS DOUBLE)) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING),
            0
          ) AS "__m2"
        FROM (
          SELECT
            "t0"."ward" AS "__g0",
            COUNT(*) AS "__m0",
            QUANTILE_CONT("t0"."amount", 0.5) AS "__m1",
            COUNT(*) AS "__b2"
          FROM "t" AS "t0"
          GROUP BY
            1
        ) AS "t1"
      ) AS "t2"
    ) AS "t3"
    WHERE
      "t3"."__rank" < 3
  ) AS "t4"
) AS "t5"
ORDER BY
  "t5"."__m0" DESC,
  "t5"."__g0" ASC
LIMIT 10
