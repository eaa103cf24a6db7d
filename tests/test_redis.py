"""Redis on its own, under the SDK's mock runtime."""

from typing import Any

from components.redis import Redis, RedisArgs
from offline_plan.mock_engine import SECURE_PLACEHOLDER, is_secret, run_components


def test_redis_serves_the_websocket_manager_without_persistence():
    seen: dict[str, Any] = {}

    def declare():
        redis = Redis("cache", RedisArgs(image="redis:7.4.2-alpine", namespace="ns"))
        return redis.url.apply(lambda url: seen.__setitem__("url", url))

    run = run_components(declare)
    assert seen["url"] == f"redis://:{SECURE_PLACEHOLDER}@cache:6379/0"
    container = run.named("cache-deployment").inputs["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "redis:7.4.2-alpine"
    assert container["args"] == ["--save", "", "--appendonly", "no", "--requirepass", "$(REDIS_PASSWORD)"]
    assert container["env"] == [{"name": "REDIS_PASSWORD", "valueFrom": {"secretKeyRef": {
        "name": "cache", "key": "REDIS_PASSWORD"}}}]
    assert is_secret(run.named("cache-secret").inputs["stringData"])
    assert 'redis-cli --no-auth-warning -a "$REDIS_PASSWORD" ping' in container["readinessProbe"]["exec"]["command"][-1]
    # runs as the image's redis user from the start: restricted-compliant
    assert container["securityContext"]["runAsUser"] == 999 and container["securityContext"]["runAsNonRoot"] is True
    assert run.named("cache-service").inputs["spec"]["ports"][0]["port"] == 6379
