-- A per-domain overview of a dataset version: pairs, sources, label sources, mean margin and strength.
-- prefmill sql runs/quickstart --file sample_data/report.sql [--version N] [--format csv]
SELECT domain,
       pair_source,
       label_source,
       count(*)                  AS pairs,
       round(avg(margin), 3)     AS mean_margin,
       round(avg(strength), 2)   AS mean_strength,
       count(*) FILTER (routing.decision = 'human') AS routed_to_humans
FROM pairs
GROUP BY ALL
ORDER BY domain, pair_source, label_source
