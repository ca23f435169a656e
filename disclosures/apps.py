from django.apps import AppConfig


class DisclosuresConfig(AppConfig):
    name = "disclosures"
    verbose_name = "Disclosures (records requests and the public SMS check)"
