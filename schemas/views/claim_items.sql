-- What the dataset itemises of each claim (a group of announcements reporting the same signing, as in the
-- view reconciliation): one row per agreement linked to any announcement of the claim and per project that
-- agreement covers (or one row with no project when it covers none), then one row per project linked to the
-- claim directly (projects_announcements) that no counted agreement row already lists.
-- counted is 1 when the row counts in the reconciliation: the link to the claim is confirmed or probable, and
-- so is the agreement's link to the project. Possible links are listed, never counted.
-- amount is the smallest investment figure of the project in the claim's currency (the rule reconciliation
-- sums, once per project and claim), amount_max the largest, amount_figures how many figures there are.
-- parties are the agreement's parties other than the host territory; status and its date come from the
-- project's whole linked story (view project_story_status).
-- Columns:
--   claim_id (Claim): The claim: the id of the first announcement reporting the signing.
--   item (Linked as): What is linked to the claim: agreement, or project (linked directly).
--   agreement_id (Agreement ID): An agreement linked to an announcement of the claim (empty for a project linked
--     directly).
--   agreement (Agreement): The agreement's title in English.
--   parties (Parties): Its parties other than the host territory (for a project linked directly: its investors),
--     separated by semicolons.
--   party_countries (Parties' countries): Those parties' countries, when known: a JSON list of two-letter ISO 3166-1
--     codes.
--     [values: organizations.country, list]
--   claim_link (Link to the claim): How sure the link to the claim is: confirmed, probable or possible.
--     [values: agreements_announcements.confidence]
--   project_id (Project ID): A project the agreement covers (empty when it covers none).
--   project (Project): That project's English name.
--   project_link (Link to the project): How sure the agreement's link to the project is (empty for a project linked
--     directly).
--     [values: agreements_projects.confidence]
--   counted (Counted): 1 when the row counts in the reconciliation (both links confirmed or probable), else 0.
--   currency (Currency): The claim's currency.
--   amount (Smallest amount): The smallest investment figure of the project in that currency, in whole units.
--     [currency: currency]
--   amount_max (Largest amount): The largest one. [currency: currency]
--   amount_figures (Investment figures): How many investment figures in that currency the sources give for the project.
--   status (Latest status): The project's latest status from its whole linked story.
--     [values: projects_status_history.status]
--   status_date (Status as of): When that status held.
--   basis (What the link rests on): What the link to the claim rests on.
--   source_id (Source of the link): The source stating the link to the claim.
--   locator (Where in the source): Where in that source.
WITH ann AS (
  SELECT a.*, COALESCE(a.same_claim_as, a.id) AS claim_id FROM announcements AS a
),
claim AS (
  SELECT claim_id, (SELECT c.currency FROM announcements AS c WHERE c.id = ann.claim_id) AS currency
  FROM ann GROUP BY claim_id
),
links AS (
  SELECT x.claim_id, aa.agreement_id,
    MIN(CASE aa.confidence WHEN 'confirmed' THEN 1 WHEN 'probable' THEN 2 ELSE 3 END) AS strength
  FROM agreements_announcements AS aa
  JOIN ann AS x ON x.id = aa.announcement_id
  GROUP BY x.claim_id, aa.agreement_id
),
best AS (
  SELECT l.claim_id, l.agreement_id, l.strength, aa.source_id, aa.locator, aa.basis,
    ROW_NUMBER() OVER (PARTITION BY l.claim_id, l.agreement_id ORDER BY
      CASE aa.confidence WHEN 'confirmed' THEN 1 WHEN 'probable' THEN 2 ELSE 3 END, aa.position) AS pick
  FROM links AS l
  JOIN ann AS x ON x.claim_id = l.claim_id
  JOIN agreements_announcements AS aa ON aa.announcement_id = x.id AND aa.agreement_id = l.agreement_id
),
direct AS (
  SELECT x.claim_id, pa.project_id, pa.source_id, pa.locator, pa.basis,
    CASE pa.confidence WHEN 'confirmed' THEN 1 WHEN 'probable' THEN 2 ELSE 3 END AS strength,
    ROW_NUMBER() OVER (PARTITION BY x.claim_id, pa.project_id ORDER BY
      CASE pa.confidence WHEN 'confirmed' THEN 1 WHEN 'probable' THEN 2 ELSE 3 END, pa.position) AS pick
  FROM projects_announcements AS pa
  JOIN ann AS x ON x.id = pa.announcement_id
),
backers AS (
  SELECT po.project_id, GROUP_CONCAT(DISTINCT o.name_en) AS parties,
    NULLIF(json_group_array(DISTINCT o.country) FILTER (WHERE o.country IS NOT NULL), '[]') AS countries
  FROM projects_organizations AS po
  JOIN organizations AS o ON o.id = po.organization_id
  WHERE po.role = 'investor'
  GROUP BY po.project_id
),
parties AS (
  SELECT pa.agreement_id,
    GROUP_CONCAT(COALESCE(o.name_en, pl.name_en, pa.description), '; ') AS parties,
    NULLIF(json_group_array(DISTINCT o.country) FILTER (WHERE o.country IS NOT NULL), '[]') AS party_countries
  FROM agreements_parties AS pa
  LEFT JOIN organizations AS o ON o.id = pa.organization_id
  LEFT JOIN places AS pl ON pl.id = pa.place_id
  WHERE pa.role <> 'host'
  GROUP BY pa.agreement_id
)
SELECT
  b.claim_id AS claim_id,
  'agreement' AS item,
  b.agreement_id AS agreement_id,
  ag.title_en AS agreement,
  pt.parties AS parties,
  pt.party_countries AS party_countries,
  CASE b.strength WHEN 1 THEN 'confirmed' WHEN 2 THEN 'probable' ELSE 'possible' END AS claim_link,
  ap.project_id AS project_id,
  pr.name_en AS project,
  ap.confidence AS project_link,
  CASE WHEN b.strength <= 2 AND (ap.project_id IS NULL OR ap.confidence IN ('confirmed', 'probable'))
    THEN 1 ELSE 0 END AS counted,
  c.currency AS currency,
  (SELECT MIN(f.amount) FROM projects_figures AS f WHERE f.project_id = ap.project_id
     AND f.metric = 'investment' AND f.currency = c.currency) AS amount,
  (SELECT MAX(f.amount) FROM projects_figures AS f WHERE f.project_id = ap.project_id
     AND f.metric = 'investment' AND f.currency = c.currency) AS amount_max,
  (SELECT COUNT(*) FROM projects_figures AS f WHERE f.project_id = ap.project_id
     AND f.metric = 'investment' AND f.currency = c.currency) AS amount_figures,
  s.status AS status,
  s.status_date AS status_date,
  b.basis AS basis,
  b.source_id AS source_id,
  b.locator AS locator
FROM best AS b
JOIN claim AS c ON c.claim_id = b.claim_id
JOIN agreements AS ag ON ag.id = b.agreement_id
LEFT JOIN parties AS pt ON pt.agreement_id = b.agreement_id
LEFT JOIN agreements_projects AS ap ON ap.agreement_id = b.agreement_id
LEFT JOIN projects AS pr ON pr.id = ap.project_id
LEFT JOIN project_story_status AS s ON s.project_id = ap.project_id
WHERE b.pick = 1
UNION ALL
SELECT
  d.claim_id, 'project', NULL, NULL, k.parties, k.countries,
  CASE d.strength WHEN 1 THEN 'confirmed' WHEN 2 THEN 'probable' ELSE 'possible' END,
  d.project_id, pr.name_en, NULL,
  CASE WHEN d.strength <= 2 THEN 1 ELSE 0 END,
  c.currency,
  (SELECT MIN(f.amount) FROM projects_figures AS f WHERE f.project_id = d.project_id
     AND f.metric = 'investment' AND f.currency = c.currency),
  (SELECT MAX(f.amount) FROM projects_figures AS f WHERE f.project_id = d.project_id
     AND f.metric = 'investment' AND f.currency = c.currency),
  (SELECT COUNT(*) FROM projects_figures AS f WHERE f.project_id = d.project_id
     AND f.metric = 'investment' AND f.currency = c.currency),
  s.status, s.status_date, d.basis, d.source_id, d.locator
FROM direct AS d
JOIN claim AS c ON c.claim_id = d.claim_id
JOIN projects AS pr ON pr.id = d.project_id
LEFT JOIN backers AS k ON k.project_id = d.project_id
LEFT JOIN project_story_status AS s ON s.project_id = d.project_id
WHERE d.pick = 1
  AND NOT EXISTS (SELECT 1 FROM best AS b2 JOIN agreements_projects AS ap2 ON ap2.agreement_id = b2.agreement_id
    WHERE b2.claim_id = d.claim_id AND b2.pick = 1 AND b2.strength <= 2 AND ap2.project_id = d.project_id
      AND ap2.confidence IN ('confirmed', 'probable'))
ORDER BY 1, 2, 7
