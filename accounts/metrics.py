"""Accounts' metrics: refused logins and the lockouts in force, read from ``LoginFailure``.

That table holds only the failures of the lockout window (``accounts.lockout`` drops older ones), so these queries
stay small whatever the number of users; the labels are the lockout's scope, never an account or an address.
"""
from __future__ import annotations

from django.db.models import Count
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily

from accounts.lockout import ACCOUNT_FROM_ADDRESS, ADDRESS, policy
from accounts.models import LoginFailure


def collect():
    rules = policy()
    recent = LoginFailure.objects.order_by().filter(created_at__gte=timezone.now() - rules.window)
    failures = GaugeMetricFamily(
        "racine_login_failures_window",
        "Wrong passwords within the lockout window (an attempt refused by a lockout in force is not checked "
        "against the password and not counted).", value=recent.count())
    locked_pairs = (recent.exclude(account="").values("account", "ip").annotate(n=Count("pk"))
                    .filter(n__gte=rules.failures).count())
    locked_addresses = (recent.exclude(ip=None).values("ip").annotate(n=Count("account", distinct=True))
                        .filter(n__gte=rules.address_accounts).count())
    lockouts = GaugeMetricFamily(
        "racine_login_lockouts_active",
        "Lockouts in force: one account from one address, or an address blocked for every account.",
        labels=["scope"])
    lockouts.add_metric([ACCOUNT_FROM_ADDRESS], locked_pairs)
    lockouts.add_metric([ADDRESS], locked_addresses)
    window = GaugeMetricFamily("racine_login_lockout_window_seconds",
                               "How long a refused password counts towards a lockout (the organization's setting).",
                               value=rules.window.total_seconds())
    return [failures, lockouts, window]
