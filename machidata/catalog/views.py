from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def dataset_list(request: HttpRequest) -> HttpResponse:
    return render(request, "core/base.html")
