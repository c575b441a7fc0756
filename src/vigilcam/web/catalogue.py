"""Every route and socket of the web edge, core and feature ones, in one list.

Owns which API surfaces exist, so the roles document, the OpenAPI document, the permission
walk test and the server all see the same set (IoT-1005-1 5.1.2.1).
"""

from __future__ import annotations

from vigilcam.auth.permissions import Permission as P
from vigilcam.web import api_media
from vigilcam.web.api_alerts import ALERT_ROUTES
from vigilcam.web.api_detection import DETECTION_ROUTES
from vigilcam.web.api_onvif import ONVIF_ROUTES
from vigilcam.web.api_privacy import PRIVACY_ROUTES
from vigilcam.web.api_recordings import RECORDING_ROUTES
from vigilcam.web.api_update import update_routes
from vigilcam.web.route_spec import RouteSpec, SocketSpec
from vigilcam.web.routes import CORE_ROUTES
from vigilcam.web.schemas import PrivacyBody

MEDIA_ROUTES = [
    RouteSpec("GET", "/api/v1/snapshot.jpg", P.TAKE_SNAPSHOT, api_media.snapshot),
    RouteSpec("GET", "/api/v1/media", P.VIEW_LIVE, api_media.media_state),
    RouteSpec("GET", "/api/v1/viewers", P.MANAGE_VIEWERS, api_media.viewers_list),
    RouteSpec("DELETE", "/api/v1/viewers/{viewing_id}", P.MANAGE_VIEWERS,
              api_media.viewers_end),
    RouteSpec("PUT", "/api/v1/privacy", P.PRIVACY_MODE, api_media.privacy_set, PrivacyBody),
    RouteSpec("GET", "/api/v1/tamper", P.VIEW_LIVE, api_media.tamper_status),
    RouteSpec("GET", "/api/v1/tamper/{kind}/{which}.jpg", P.VIEW_LIVE,
              api_media.tamper_evidence),
    RouteSpec("POST", "/api/v1/tamper/rebaseline", P.CONFIGURE_MEDIA,
              api_media.tamper_rebaseline),
]


def all_route_specs() -> list[RouteSpec]:
    return [*CORE_ROUTES, *MEDIA_ROUTES, *DETECTION_ROUTES, *RECORDING_ROUTES, *PRIVACY_ROUTES,
            *ALERT_ROUTES, *update_routes(P.MANAGE_UPDATES), *ONVIF_ROUTES]


def all_socket_specs() -> list[SocketSpec]:
    return [SocketSpec("/api/v1/live", P.VIEW_LIVE, api_media.live_socket,
                       "Live fMP4 video over WSS (?stream=main|sub)")]
