"""The two endpoints django-markdownx's editor widget calls, replaced by hardened ones.

markdownx's stock views check no login, render with a different Markdown than the
page, do not sanitize, take the stored file's extension from the client and answer
bad images with a 500. These keep its URLs (``/markdownx/markdownify/`` and
``/markdownx/upload/``, the paths its JavaScript posts to) and its response shapes, but:
staff only (403 otherwise, as JSON), POST only, CSRF checked; the preview is the page's
own renderer (``Article.render_preview``), so preview = page; uploads go through
``conditions.images``.
"""

from functools import wraps

from django.http import HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.http import require_POST

from .images import ImageRejected, store_upload
from .models import render_preview

MAX_PREVIEW_CHARS = 200_000


def staff_only(permission):
    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            user = request.user
            if not (user.is_active and user.is_staff and user.has_perm(permission)):
                return JsonResponse({"error": "Sign in to the admin with an editor's account to do this."}, status=403)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


@require_POST
@staff_only("conditions.change_article")
def markdownify(request):
    text = request.POST.get("content", "")
    if len(text) > MAX_PREVIEW_CHARS:
        return HttpResponse("<p>This section is too long to preview.</p>", status=413)
    return HttpResponse(render_preview(text))


@require_POST
@staff_only("conditions.add_articleimage")
def upload(request):
    uploaded = request.FILES.get("image")
    if uploaded is None:
        return JsonResponse({"image": ["Choose an image file to upload."]}, status=400)
    try:
        image = store_upload(uploaded, request.user)
    except ImageRejected as error:
        return JsonResponse({"image": [str(error)]}, status=error.status)
    # Empty alt text on purpose: saving the article asks the editor to describe the image.
    return JsonResponse({"image_code": f"![]({image.url})", "url": image.url, "width": image.width, "height": image.height})


urlpatterns = [
    path("markdownify/", markdownify, name="markdownx_markdownify"),
    path("upload/", upload, name="markdownx_upload"),
]
