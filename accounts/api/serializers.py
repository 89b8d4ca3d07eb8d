from rest_framework import serializers

from accounts.models import User


class MeSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "username", "email", "first_name", "last_name", "is_staff", "last_login", "date_joined"]
        read_only_fields = ["id", "username", "is_staff", "last_login", "date_joined"]
