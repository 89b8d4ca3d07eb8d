"""The outbox in the back office, for operators: every event with its deliveries, dead letters first to look at,
and an action that sends dead letters again. Organization-wide plumbing, not a workspace's data: seen by who
holds ``core.view_event`` (superusers, operators it was granted to), retried by who holds ``core.retry_event``."""
from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied

from accounts.admin import ReadOnlyAdminMixin
from accounts.wording import counted
from core import events
from core.models import Delivery, Event


class DeliveryInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Delivery
    fields = ["subscriber", "attempts", "delivered_at", "last_error"]
    readonly_fields = fields
    extra = 0


@admin.register(Event)
class EventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "name", "aggregate_type", "aggregate_id", "status", "attempts", "created_at",
                    "next_attempt_at"]
    list_filter = ["status", "name"]
    search_fields = ["name", "aggregate_id"]
    readonly_fields = ["name", "aggregate_type", "aggregate_id", "workspace_id", "payload", "status", "attempts",
                       "created_at", "next_attempt_at", "claimed_until", "delivered_at", "last_error"]
    fields = readonly_fields
    inlines = [DeliveryInline]
    actions = ["retry_dead_letters"]
    show_full_result_count = False

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("core.view_event")

    def has_module_permission(self, request):
        return request.user.has_perm("core.view_event")

    def has_retry_permission(self, request):
        return request.user.has_perm("core.retry_event")

    @admin.action(description="Send the selected dead letters again", permissions=["retry"])
    def retry_dead_letters(self, request, queryset):
        try:
            sent = events.dead_letters_retry(events=list(queryset), acting_user=request.user)
        except PermissionDenied:
            self.message_user(request, "You may not retry events.", messages.ERROR)
            return
        skipped = queryset.count() - sent
        left_alone = ("was not a dead letter and was left as it is" if skipped == 1
                      else "were not dead letters and were left as they are")
        left = f" {counted(skipped, 'selected event')} {left_alone}." if skipped else ""
        self.message_user(request, f"{counted(sent, 'dead letter')} sent again.{left}",
                          messages.SUCCESS if sent else messages.WARNING)
