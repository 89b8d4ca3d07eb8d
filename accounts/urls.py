"""The second-factor pages, mounted at /accounts/ (``config.urls``)."""
from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("mfa/", views.status, name="mfa-status"),
    path("mfa/enrol/", views.enrol, name="mfa-enrol"),
    path("mfa/verify/", views.verify, name="mfa-verify"),
    path("mfa/backup-codes/", views.backup_codes, name="mfa-backup-codes"),
    path("mfa/disable/", views.disable, name="mfa-disable"),
]
