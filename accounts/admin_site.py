from django.contrib import admin


class RacineAdminSite(admin.AdminSite):
    site_header = "Racine"
    site_title = "Racine"
    index_title = "Data governance"
