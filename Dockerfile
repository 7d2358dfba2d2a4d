# appointd in containers: one image for the pool, the relay and appointctl,
# and one for nginx with appointd's site. Built through `make install`, the
# same steps the Debian package's build runs (./dev check --package).
#
#   docker build -t appointd .                 # the service image
#   docker build -t appointd-nginx --target nginx .
#   docker compose up                          # see docker-compose.yml

FROM debian:bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
        build-essential autoconf automake pkg-config libpq-dev libcjson-dev \
        libical-dev libcunit1-dev libcurl4-openssl-dev libssl-dev libfcgi-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN autoreconf -fi \
    && ./configure --prefix=/usr --sysconfdir=/etc --localstatedir=/var \
    && make -j"$(nproc)" \
    && make install DESTDIR=/out

FROM debian:bookworm-slim AS service
RUN apt-get update && apt-get install -y --no-install-recommends \
        libpq5 libcjson1 libical3 libcurl4 libssl3 libfcgi0ldbl tzdata ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --user-group --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin appointd
COPY --from=build /out/usr/ /usr/
COPY --from=build /out/etc/appointd/appointd.conf /etc/appointd/appointd.conf
# In a container the pool listens on TCP for the nginx container and logs to
# stderr; the database comes from APPOINTD_DATABASE_URL.
ENV APPOINTD_LISTEN=0.0.0.0:9000
USER appointd
EXPOSE 9000
STOPSIGNAL SIGTERM
CMD ["appointd", "-c", "/etc/appointd/appointd.conf"]

FROM debian:bookworm-slim AS nginx
RUN apt-get update && apt-get install -y --no-install-recommends nginx \
    && rm -rf /var/lib/apt/lists/* /etc/nginx/sites-enabled/default \
    && ln -sf /dev/stdout /var/log/nginx/appointd-access.log \
    && ln -sf /dev/stderr /var/log/nginx/error.log
COPY --from=build /out/etc/appointd/nginx-site.conf /etc/nginx/sites-enabled/appointd
# The pool is another container; the site listens on every interface here.
RUN sed -i -e 's|server unix:/run/appointd/appointd.sock;|server appointd:9000;|' \
        -e 's|listen 127.0.0.1:8080;|listen 8080;|' /etc/nginx/sites-enabled/appointd
EXPOSE 8080
CMD ["nginx", "-g", "daemon off;"]

# The default target is the service image.
FROM service
