from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination


class Pagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_page_size(self, request):
        """A ``page_size`` that is not a positive integer is a 400, not silently the default (DRF's behaviour):
        the caller would page with a size they did not ask for. Above the maximum it is the maximum."""
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        size = int(raw) if raw.isdecimal() else 0
        if size < 1:
            raise ValidationError({self.page_size_query_param: "A positive integer is required."}, code="invalid")
        return min(size, self.max_page_size)

    def get_schema_operation_parameters(self, view):
        """Both are counted from 1: a page 0 is a 404 and a page size 0 a 400, so the schema says so."""
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1
        return parameters
