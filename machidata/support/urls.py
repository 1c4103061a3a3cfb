"""URLs of the support pages (/support/)."""

app_name = "support"
urlpatterns: list = []
