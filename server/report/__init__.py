"""The site owner's report: hourly rollups kept by the writer, read under the k rule."""
