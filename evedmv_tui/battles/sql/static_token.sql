SELECT token FROM static_data_version
