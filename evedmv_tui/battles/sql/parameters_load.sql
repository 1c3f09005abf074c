SELECT parameters FROM battle_parameters WHERE singleton
