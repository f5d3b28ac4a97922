-- Hashrate et activité API combinés par conteneur et mineur
SELECT
    s.container_id,
    s.miner_id,
    SUM(s.hash_rate) AS total_hashrate_hs,
    COUNT(a.id) AS total_api_calls,
    MAX(s.timestamp) AS last_hashrate_update,
    MAX(a.timestamp) AS last_api_call
FROM stats s
LEFT JOIN api_return a
    ON s.container_id = a.container_id
    AND s.miner_id = a.miner_id
GROUP BY s.container_id, s.miner_id
ORDER BY total_hashrate_hs DESC, total_api_calls DESC;


-- Calcule le hashrate moyen par seconde pour chaque mineur :
SELECT 
    container_id,
    miner_id,
    AVG(hash_rate) AS avg_hashrate_hs,
    MAX(timestamp) AS last_update
FROM stats
GROUP BY container_id, miner_id
ORDER BY container_id, miner_id;

-- Hashrate moyen sur les 5 dernières minutes
SELECT 
    container_id,
    miner_id,
    AVG(hash_rate) AS avg_hashrate_hs,
    MAX(timestamp) AS last_update
FROM stats
WHERE timestamp >= NOW() - INTERVAL '5 minutes'
GROUP BY container_id, miner_id
ORDER BY container_id, miner_id;


-- hashrate total combiné de tous les mineurs dans chaque conteneur 
SELECT 
    container_id,
    SUM(hash_rate) AS total_hashrate_hs,
    MAX(timestamp) AS last_update
FROM stats
GROUP BY container_id
ORDER BY container_id;
