-- For each announcement (an aggregate claim such as "15 memoranda, USD 1.568 billion" or "a portfolio of 14
-- projects"), what the dataset itemises of it, and the remainder nothing in the dataset explains.
--
-- Rules:
-- * A claim groups the announcements that report the same signing: same_claim_as, or the announcement
--   itself when it is the first report. Items linked to any announcement of a claim count for every
--   announcement of that claim.
-- * An agreement is itemised when its link to the claim (agreements_announcements.confidence) is confirmed
--   or probable. Possible links are counted separately in agreements_possible and never in the totals.
-- * A project is itemised when it is linked to the claim directly (projects_announcements, confirmed or
--   probable) or is covered by an itemised agreement (agreements_projects, confirmed or probable). Possible
--   direct links are counted in projects_possible, never in the totals.
-- * items_itemised is what the count counts: projects for a claim that counts projects, agreements for one
--   that counts documents (memoranda, agreements, contracts). items_not_itemised = count - items_itemised.
-- * Money itemised = investment of the itemised projects, each project counted once per claim, in the
--   announcement's currency (never converted). When a project has several investment figures in that currency
--   (sources disagree), the smallest is used; the others are listed in figure_disagreements. Qualifiers of
--   project figures are ignored in the sum. Projects with money only in another currency are counted in
--   projects_other_currency and left out of the sum.
-- * residual = announced minus itemised; share_itemised = itemised / announced (0 to 1).
-- * The claim_* columns compare all announcements of the same claim: how many sources, and the smallest
--   and largest count and total (same currency), and their spread.
-- Columns:
--   announcement_id (Announcement): The announcement (one source's report of the claim).
--   claim_id (Claim): The claim it belongs to: the id of the first announcement reporting the signing.
--   event_id (Event): The event at which the counted documents were signed.
--   party_place_id (Signed by): The Kazakh territory that signed the counted documents.
--   counted (What is counted): The kind of document counted. [values: announcements.counted]
--   source_id (Source): The source making the announcement.
--   announced_count (Announced count): How many documents (or projects) the source says were signed.
--   count_qualifier (Count wording): How the count is worded. [values: announcements.count_qualifier]
--   announced_total (Announced total): The total value the source gives, in whole currency units. [currency: currency]
--   currency (Currency): The total's ISO 4217 currency code.
--   total_qualifier (Total wording): How the total is worded. [values: announcements.total_qualifier]
--   agreements_itemised (Agreements itemised): Agreements linked to the claim as confirmed or probable.
--   agreements_confirmed (Agreements confirmed): Of those, linked as confirmed.
--   agreements_probable (Agreements probable): Of those, linked as probable.
--   agreements_possible (Agreements possible): Agreements linked only as possible (never counted).
--   agreements_not_itemised (Agreements not itemised): The announced count minus the agreements itemised.
--   projects_itemised (Projects itemised): Projects itemised (linked directly, or covered by an itemised agreement),
--     each once.
--   projects_linked (Projects linked directly): Of those, projects linked to the claim directly.
--   projects_possible (Projects possible): Projects linked to the claim only as possible (never counted).
--   items_itemised (Items itemised): What the count counts, itemised: projects for a claim counting projects, else
--     agreements.
--   items_not_itemised (Items not itemised): The announced count minus items_itemised.
--   projects_without_amount (Projects without an amount): Itemised projects with no investment figure in the
--     announcement's currency.
--   projects_other_currency (Projects in another currency): Of those, projects whose investment is given only in
--     another currency.
--   itemised_total (Money itemised): The money itemised: the smallest investment figure of each itemised project,
--     summed.
--     [currency: currency]
--   residual_total (Unexplained remainder): The announced total minus the money itemised. [currency: currency]
--   share_itemised (Share itemised): The money itemised as a share of the announced total (0 to 1).
--   claim_sources (Sources reporting the claim): How many announcements report the same claim.
--   claim_min_count (Smallest count): The smallest count among them.
--   claim_max_count (Largest count): The largest count among them.
--   claim_min_total (Smallest total): The smallest total among them in this currency. [currency: currency]
--   claim_max_total (Largest total): The largest total among them in this currency. [currency: currency]
--   claim_total_spread (Spread of totals): The largest total minus the smallest. [currency: currency]
WITH ann AS (
  SELECT a.*, COALESCE(a.same_claim_as, a.id) AS claim_id
  FROM announcements AS a
),
links AS (
  SELECT x.claim_id, aa.agreement_id,
    MIN(CASE aa.confidence WHEN 'confirmed' THEN 1 WHEN 'probable' THEN 2 ELSE 3 END) AS strength
  FROM agreements_announcements AS aa
  JOIN ann AS x ON x.id = aa.announcement_id
  GROUP BY x.claim_id, aa.agreement_id
),
itemised AS (
  SELECT claim_id,
    COUNT(*) AS agreements_itemised,
    SUM(strength = 1) AS agreements_confirmed,
    SUM(strength = 2) AS agreements_probable
  FROM links WHERE strength <= 2
  GROUP BY claim_id
),
possible AS (
  SELECT claim_id, COUNT(*) AS agreements_possible
  FROM links WHERE strength = 3
  GROUP BY claim_id
),
project_links AS (
  SELECT x.claim_id, pa.project_id,
    MIN(CASE pa.confidence WHEN 'confirmed' THEN 1 WHEN 'probable' THEN 2 ELSE 3 END) AS strength
  FROM projects_announcements AS pa
  JOIN ann AS x ON x.id = pa.announcement_id
  GROUP BY x.claim_id, pa.project_id
),
claim_projects AS (
  SELECT l.claim_id, ap.project_id
  FROM links AS l
  JOIN agreements_projects AS ap ON ap.agreement_id = l.agreement_id
  WHERE l.strength <= 2 AND ap.confidence IN ('confirmed', 'probable')
  UNION
  SELECT claim_id, project_id FROM project_links WHERE strength <= 2
),
project_counts AS (
  SELECT claim_id,
    COUNT(*) AS projects_itemised,
    SUM(project_id IN (SELECT pl.project_id FROM project_links AS pl
      WHERE pl.claim_id = cp.claim_id AND pl.strength <= 2)) AS projects_linked
  FROM claim_projects AS cp
  GROUP BY claim_id
),
projects_possible AS (
  SELECT claim_id, COUNT(*) AS projects_possible
  FROM project_links AS pl
  WHERE strength = 3
    AND NOT EXISTS (SELECT 1 FROM claim_projects AS cp WHERE cp.claim_id = pl.claim_id
      AND cp.project_id = pl.project_id)
  GROUP BY claim_id
),
project_money AS (
  SELECT cp.claim_id, f.currency, cp.project_id, MIN(f.amount) AS amount
  FROM claim_projects AS cp
  JOIN projects_figures AS f ON f.project_id = cp.project_id AND f.metric = 'investment'
  WHERE f.currency IS NOT NULL
  GROUP BY cp.claim_id, f.currency, cp.project_id
),
claim_spread AS (
  SELECT claim_id,
    COUNT(*) AS claim_sources,
    MIN(count) AS claim_min_count,
    MAX(count) AS claim_max_count
  FROM ann GROUP BY claim_id
),
claim_totals AS (
  SELECT claim_id, currency, MIN(total) AS claim_min_total, MAX(total) AS claim_max_total
  FROM ann WHERE total IS NOT NULL
  GROUP BY claim_id, currency
),
r AS (
  SELECT
    a.*,
    COALESCE(i.agreements_itemised, 0) AS agreements_itemised,
    COALESCE(i.agreements_confirmed, 0) AS agreements_confirmed,
    COALESCE(i.agreements_probable, 0) AS agreements_probable,
    COALESCE(p.agreements_possible, 0) AS agreements_possible,
    COALESCE(pc.projects_itemised, 0) AS projects_itemised,
    COALESCE(pc.projects_linked, 0) AS projects_linked,
    COALESCE(pp.projects_possible, 0) AS projects_possible,
    COALESCE((SELECT SUM(m.amount) FROM project_money AS m
       WHERE m.claim_id = a.claim_id AND m.currency = a.currency), 0) AS itemised_total,
    (SELECT COUNT(*) FROM claim_projects AS cp WHERE cp.claim_id = a.claim_id
       AND NOT EXISTS (SELECT 1 FROM project_money AS m WHERE m.claim_id = cp.claim_id
         AND m.project_id = cp.project_id AND m.currency = a.currency)) AS projects_without_amount,
    (SELECT COUNT(*) FROM claim_projects AS cp WHERE cp.claim_id = a.claim_id
       AND NOT EXISTS (SELECT 1 FROM project_money AS m WHERE m.claim_id = cp.claim_id
         AND m.project_id = cp.project_id AND m.currency = a.currency)
       AND EXISTS (SELECT 1 FROM project_money AS m WHERE m.claim_id = cp.claim_id
         AND m.project_id = cp.project_id)) AS projects_other_currency,
    s.claim_sources, s.claim_min_count, s.claim_max_count,
    t.claim_min_total, t.claim_max_total
  FROM ann AS a
  LEFT JOIN itemised AS i ON i.claim_id = a.claim_id
  LEFT JOIN possible AS p ON p.claim_id = a.claim_id
  LEFT JOIN project_counts AS pc ON pc.claim_id = a.claim_id
  LEFT JOIN projects_possible AS pp ON pp.claim_id = a.claim_id
  LEFT JOIN claim_spread AS s ON s.claim_id = a.claim_id
  LEFT JOIN claim_totals AS t ON t.claim_id = a.claim_id AND t.currency = a.currency
)
SELECT
  id AS announcement_id,
  claim_id,
  event_id,
  party_place_id,
  counted,
  source_id,
  count AS announced_count,
  count_qualifier,
  total AS announced_total,
  currency,
  total_qualifier,
  agreements_itemised,
  agreements_confirmed,
  agreements_probable,
  agreements_possible,
  count - agreements_itemised AS agreements_not_itemised,
  projects_itemised,
  projects_linked,
  projects_possible,
  CASE counted WHEN 'projects' THEN projects_itemised ELSE agreements_itemised END AS items_itemised,
  count - CASE counted WHEN 'projects' THEN projects_itemised ELSE agreements_itemised END AS items_not_itemised,
  projects_without_amount,
  projects_other_currency,
  itemised_total,
  total - itemised_total AS residual_total,
  ROUND(itemised_total * 1.0 / NULLIF(total, 0), 4) AS share_itemised,
  claim_sources,
  claim_min_count,
  claim_max_count,
  claim_min_total,
  claim_max_total,
  claim_max_total - claim_min_total AS claim_total_spread
FROM r
ORDER BY claim_id, id
