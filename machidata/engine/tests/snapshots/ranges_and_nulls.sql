SELECT
  *
FROM "t" AS "t0"
WHERE
  "t0"."day" >= MAKE_DATE(2024, 4, 1)
  AND "t0"."day" <= MAKE_DATE(2025, 3, 31)
  AND "t0"."at" < MAKE_TIMESTAMP(2024, 4, 1, 0, 30, 0.0)
  AND "t0"."amount" IS NULL
  AND "t0"."visits" IN (1, 2, 3)
  AND (
    NOT (
      "t0"."ward" IN ('中央区')
    ) OR (
      "t0"."ward" IS NULL
    )
  )
  AND "t0"."flag" = TRUE
ORDER BY
  "t0"."day" ASC
