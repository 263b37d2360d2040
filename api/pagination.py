"""Pages of every list of the API: `?page=N&page_size=M` (at most 1,000 rows a page)."""
from rest_framework import pagination


class PageNumberPagination(pagination.PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 1000
