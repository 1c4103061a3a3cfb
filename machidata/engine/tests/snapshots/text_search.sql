SELECT
  *
FROM "t" AS "t0"
WHERE
  CONTAINS(MACHIDATA_NFKC_LOWER("t0"."name"), 'abc')
  AND STARTS_WITH(MACHIDATA_NFKC_LOWER("t0"."ward"), '中央')
  AND (
    (
      "t0"."name" <> 'x''; DROP TABLE t; --'
    ) OR (
      "t0"."name" IS NULL
    )
  )
LIMIT 20
