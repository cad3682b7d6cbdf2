# generates the AOI WKT files used as input for the reference runs
import shapely, shapely.geometry as g
from shapely import wkt
import math, os
out = "/work/ref017/files/aois"
def box(lon0, lat0, lon1, lat1):
    return g.box(lon0, lat0, lon1, lat1)
def blob(clon, clat, rkm, n=17, seed=1.0):
    # irregular star-ish polygon, radius ~rkm with deterministic wobble
    pts = []
    for i in range(n):
        a = 2*math.pi*i/n
        r = rkm*(0.75 + 0.25*math.sin(3*a+seed) + 0.1*math.cos(5*a))
        dlat = r/111.32*math.sin(a)
        dlon = r/(111.32*math.cos(math.radians(clat)))*math.cos(a)
        pts.append((round(clon+dlon,6), round(clat+dlat,6)))
    return g.Polygon(pts)
aois = {
  # equator-crossing irregular polygon around Quito (centroid south of equator)
  "quito": g.Polygon([(-78.56,-0.26),(-78.44,-0.27),(-78.40,-0.15),(-78.43,-0.02),(-78.47,0.04),(-78.53,0.03),(-78.55,-0.08),(-78.58,-0.17),(-78.56,-0.26)]),
  # Tromso ~69.65N: box
  "tromso": box(18.70, 69.60, 19.20, 69.75),
  # Punta Arenas ~53S, negative lon: box
  "puntaarenas": box(-71.05, -53.22, -70.78, -53.07),
  # Tokyo: irregular blob
  "tokyo": blob(139.75, 35.68, 11.0, seed=0.3),
  # Nairobi: polygon with a hole
  "nairobi": g.Polygon([(36.70,-1.40),(36.95,-1.40),(36.97,-1.22),(36.88,-1.15),(36.72,-1.18),(36.70,-1.40)],
                       holes=[[(36.78,-1.33),(36.86,-1.33),(36.86,-1.25),(36.78,-1.25),(36.78,-1.33)]]),
  # Los Angeles: negative lon, northern hemisphere, box
  "losangeles": box(-118.40, 33.95, -118.15, 34.12),
  # Auckland 174E 36S: irregular blob
  "auckland": blob(174.76, -36.85, 10.0, seed=1.7),
  # spans the UTM 32/33 boundary at 12E (centroid at ~12.03E -> zone 33N)
  "utm12e": g.Polygon([(11.88,47.90),(12.20,47.90),(12.20,48.06),(11.88,48.06),(11.88,47.90)]),
  # spans UTM 31/32 boundary at 6E (centroid west of 6E -> zone 31N), irregular
  "utm6e": g.Polygon([(5.80,45.00),(6.10,45.02),(6.08,45.12),(5.95,45.16),(5.82,45.12),(5.80,45.00)]),
  # multipolygon (two islands) near Honolulu, negative lon
  "honolulu": g.MultiPolygon([box(-158.00,21.28,-157.88,21.38), box(-157.82,21.40,-157.74,21.48)]),
}
for name, geom in aois.items():
    geom = shapely.geometry.polygon.orient(geom, 1.0) if geom.geom_type=="Polygon" else geom
    assert geom.is_valid, name
    s = geom.wkt
    with open(f"{out}/{name}.wkt", "w") as f:
        f.write(s)
    print(name, geom.geom_type, geom.bounds, "centroid", tuple(round(c,4) for c in geom.centroid.coords[0]), "holes" if geom.geom_type=="Polygon" and len(geom.interiors) else "")
